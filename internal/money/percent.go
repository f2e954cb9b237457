package money

import "math/bits"

// Hundred is 100 as a Micros: a percentage held as Micros (12.5% is 12_500_000) runs from 0 to Hundred.
const Hundred = Micros(100 * Scale)

// Percent is percent of amount (percent in Micros of a percent: 12.5% is 12_500_000), exact in
// 128-bit arithmetic and rounded down to the micro-unit, so a share never pays more than its
// percentage. A negative amount or percent pays nothing; a percent above Hundred counts as Hundred.
func Percent(amount, percent Micros) Micros {
	if amount <= 0 || percent <= 0 {
		return 0
	}
	percent = min(percent, Hundred)
	hi, lo := bits.Mul64(uint64(amount), uint64(percent))
	// amount*percent/10^8: amount < 2^63 and percent <= 10^8 < 2^27 make hi < 2^26 < 10^8,
	// so the quotient fits (Div64 requires hi below the divisor).
	q, _ := bits.Div64(hi, lo, uint64(Hundred))
	return Micros(q)
}
