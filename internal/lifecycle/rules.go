package lifecycle

// Report is what a network's report of a status does to a known conversion.
type Report int

// The outcomes of a report.
const (
	// Move: the conversion moves to the reported status.
	Move Report = iota
	// Same: it is in that status already; the report is a duplicate.
	Same
	// Stale: a pending report after approved or reversed; networks send pending first, so it
	// overtook a later report and never moves the conversion back.
	Stale
	// Refused: the conversion is REJECTED by one of our rules, which reports never override
	// (manual review may).
	Refused
)

// OnReport decides what a network's report of status to does to a conversion in status from.
// Between approved and reversed the latest arrival wins (networks give no timestamps to order
// them by), so reversed then approved is a restore.
func OnReport(from, to Status) Report {
	switch {
	case from == Rejected:
		return Refused
	case from == to:
		return Same
	case to == Pending:
		return Stale
	}
	return Move
}

// Spend is how a change of status moves a conversion's spend.
type Spend int

// The spend movements.
const (
	// Keep: both statuses spend, or neither does.
	Keep Spend = iota
	// Charge: entering a status that spends charges budgets and caps, every rule applied again.
	Charge
	// Release: leaving it gives back exactly what was charged.
	Release
)

// SpendOf is how moving from one status to another moves the spend.
func SpendOf(from, to Status) Spend {
	switch {
	case from.Spends() && !to.Spends():
		return Release
	case !from.Spends() && to.Spends():
		return Charge
	}
	return Keep
}
