package main

import (
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// userHZ is the unit of the CPU times in /proc: 100 on every Linux we run on.
const userHZ = 100

// cpuSnapshot is where the CPU time stood at one moment: this tool's, the server's, and the
// whole machine's busy and total time, to tell how much of each phase the machine spent where.
type cpuSnapshot struct {
	client      time.Duration
	server      time.Duration
	machineBusy int64 // in ticks
	machineAll  int64
	// backends is the CPU time of each PostgreSQL backend serving the bench database, by pid.
	backends map[int]time.Duration
}

// backendPIDs lists the PostgreSQL backends connected to the bench database (the server's
// pool, the tool's own connection aside); nil when unknown.
type backendPIDs func() []int

// pgBackendsOf lists, through db, the backends of db's database other than db's own.
func pgBackendsOf(db *sql.DB) backendPIDs {
	return func() []int {
		rows, err := db.Query(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
		if err != nil {
			return nil
		}
		defer rows.Close()
		var pids []int
		for rows.Next() {
			var pid int
			if rows.Scan(&pid) == nil {
				pids = append(pids, pid)
			}
		}
		return pids
	}
}

func takeCPUSnapshot(serverPID int, backends backendPIDs) cpuSnapshot {
	var s cpuSnapshot
	if backends != nil {
		s.backends = map[int]time.Duration{}
		for _, pid := range backends() {
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
				s.backends[pid], _ = parseProcStatCPU(string(b))
			}
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.client = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if serverPID > 0 {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", serverPID)); err == nil {
			s.server, _ = parseProcStatCPU(string(b))
		}
	}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		s.machineBusy, s.machineAll, _ = parseMachineCPU(string(b))
	}
	return s
}

// CPU is how a phase used the machine's processors.
type CPU struct {
	ClientSeconds float64 `json:"clientSeconds"`
	ServerSeconds float64 `json:"serverSeconds,omitempty"`
	// ServerMsPerRequest is the server's CPU time per request answered as expected.
	ServerMsPerRequest float64 `json:"serverMsPerRequest,omitempty"`
	// MachineBusy is the share of all CPUs that was busy (everything: server, PostgreSQL, this tool).
	MachineBusy float64 `json:"machineBusy"`
	// DatabaseSeconds is the CPU time of the PostgreSQL backends serving the bench database
	// (a backend that appeared during the phase counts whole), and DatabaseMsPerRequest the same
	// per request answered as expected: the database's work per request, which other load on
	// the machine hardly moves (its throughput it does).
	DatabaseSeconds      float64 `json:"databaseSeconds,omitempty"`
	DatabaseMsPerRequest float64 `json:"databaseMsPerRequest,omitempty"`
}

func cpuBetween(a, b cpuSnapshot, ok int) CPU {
	c := CPU{ClientSeconds: (b.client - a.client).Seconds(), ServerSeconds: (b.server - a.server).Seconds()}
	if ok > 0 && c.ServerSeconds > 0 {
		c.ServerMsPerRequest = c.ServerSeconds * 1000 / float64(ok)
	}
	if b.backends != nil {
		var d time.Duration
		for pid, t := range b.backends {
			d += t - a.backends[pid] // 0 for a backend that is new
		}
		c.DatabaseSeconds = d.Seconds()
		if ok > 0 && d > 0 {
			c.DatabaseMsPerRequest = c.DatabaseSeconds * 1000 / float64(ok)
		}
	}
	if all := b.machineAll - a.machineAll; all > 0 {
		c.MachineBusy = float64(b.machineBusy-a.machineBusy) / float64(all)
	}
	return c
}

// parseProcStatCPU reads utime+stime from /proc/PID/stat. The command name in parentheses may
// hold spaces, so fields are counted from the last ')'.
func parseProcStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed stat %q", truncate(stat, 80))
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("short stat %q", truncate(stat, 80))
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad CPU times in stat %q", truncate(stat, 80))
	}
	return time.Duration(ut+st) * time.Second / userHZ, nil
}

// parseMachineCPU reads the "cpu" line of /proc/stat: busy is everything but idle and iowait.
func parseMachineCPU(stat string) (busy, all int64, err error) {
	for line := range strings.SplitSeq(stat, "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || f[0] != "cpu" {
			continue
		}
		// user nice system idle iowait irq softirq steal guest guest_nice; guest time is
		// already counted in user, so only the first eight add up.
		for j, v := range f[1:min(len(f), 9)] {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return 0, 0, err
			}
			all += n
			if j != 3 && j != 4 {
				busy += n
			}
		}
		return busy, all, nil
	}
	return 0, 0, fmt.Errorf("no cpu line in /proc/stat")
}
