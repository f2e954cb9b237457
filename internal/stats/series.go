package stats

import (
	"sort"
	"time"
)

// Bucket is the width of a rollup bucket. Every real time-zone offset is a multiple of it, so
// the hours and days of any zone are unions of buckets.
const Bucket = 15 * time.Minute

// Floor rounds t down to the start of its bucket, in UTC.
func Floor(t time.Time) time.Time { return t.UTC().Truncate(Bucket) }

// Limits on the length of a report: the series has at most about 800 hours or 400 days.
const (
	MaxHourRange = 33 * 24 * time.Hour
	MaxDayRange  = 400 * 24 * time.Hour
)

// boundaries cuts [from, to) at the starts of the hours or days of loc: the result begins with
// from and ends with to, and point i is [b[i], b[i+1]). Hours and days follow the zone's clock
// across DST changes: a day may last 23 or 25 hours, and an hour the clock repeats is two points.
func boundaries(from, to time.Time, g Granularity, loc *time.Location) []time.Time {
	b := []time.Time{from}
	for t := from; ; {
		if g == Day {
			y, m, d := t.In(loc).Date()
			t = startOfDay(y, m, d+1, loc)
		} else {
			t = nextHour(t, loc)
		}
		if !t.Before(to) {
			break
		}
		b = append(b, t)
	}
	return append(b, to)
}

// nextHour is the first instant after t at which the clock of loc shows a full hour.
func nextHour(t time.Time, loc *time.Location) time.Time {
	for t = t.Truncate(Bucket).Add(Bucket); t.In(loc).Minute() != 0; t = t.Add(Bucket) {
	}
	return t
}

// startOfDay is the first instant of the day y-m-d (normalized) in loc. Where a DST change
// skips midnight, time.Date may land in the day before or after; the day starts at the first
// quarter hour that reads as that date.
func startOfDay(y int, m time.Month, d int, loc *time.Location) time.Time {
	want := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	date := func(t time.Time) time.Time {
		y, m, d := t.In(loc).Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	t := time.Date(y, m, d, 0, 0, 0, 0, loc)
	for date(t).Before(want) {
		t = t.Truncate(Bucket).Add(Bucket)
	}
	for date(t.Add(-Bucket)).Equal(want) {
		t = t.Add(-Bucket)
	}
	return t
}

// pointOf returns the index of the point of b that holds t, or -1 when t is outside.
func pointOf(b []time.Time, t time.Time) int {
	if t.Before(b[0]) || !t.Before(b[len(b)-1]) {
		return -1
	}
	return sort.Search(len(b)-1, func(i int) bool { return b[i+1].After(t) })
}
