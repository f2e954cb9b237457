package lifecycle

import "testing"

func TestReportsFollowTheRulesOfOutOfOrderNetworks(t *testing.T) {
	cases := []struct {
		from, to Status
		want     Report
	}{
		{Pending, Approved, Move},
		{Pending, Reversed, Move},
		{Approved, Reversed, Move},
		{Reversed, Approved, Move}, // a restore
		{Approved, Pending, Stale},
		{Reversed, Pending, Stale},
		{Pending, Pending, Same},
		{Approved, Approved, Same},
		{Rejected, Approved, Refused},
		{Rejected, Pending, Refused},
		{Rejected, Rejected, Refused},
	}
	for _, c := range cases {
		if got := OnReport(c.from, c.to); got != c.want {
			t.Errorf("OnReport(%s, %s) = %d, want %d", c.from, c.to, got, c.want)
		}
	}
}

func TestSpendMovesOnlyAcrossTheSpendingLine(t *testing.T) {
	cases := []struct {
		from, to Status
		want     Spend
	}{
		{Pending, Approved, Keep},
		{Approved, Reversed, Release},
		{Pending, Rejected, Release},
		{Reversed, Approved, Charge},
		{Rejected, Pending, Charge},
		{Reversed, Rejected, Keep},
	}
	for _, c := range cases {
		if got := SpendOf(c.from, c.to); got != c.want {
			t.Errorf("SpendOf(%s, %s) = %d, want %d", c.from, c.to, got, c.want)
		}
	}
}
