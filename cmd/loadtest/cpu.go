package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"jindalai/store"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat times (100 on Linux).
const clockTicks = 100

// procs are the processes whose CPU time is accounted per operation: the
// API server, MariaDB, Redis and this load tool.
type procs struct{ api, db, redis int }

var procNames = []string{"api", "db", "redis", "client"}

// findProcs locates MariaDB (its pid file) and Redis (INFO) of the run.
func findProcs(ctx context.Context, st *store.Store, apiPID int) procs {
	p := procs{api: apiPID}
	var pidFile string
	if err := st.DB.QueryRowContext(ctx, "SELECT @@pid_file").Scan(&pidFile); err == nil {
		if raw, err := os.ReadFile(pidFile); err == nil {
			p.db, _ = strconv.Atoi(strings.TrimSpace(string(raw)))
		}
	}
	if info, err := st.Redis.Info(ctx, "server").Result(); err == nil {
		for _, line := range strings.Split(info, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
				p.redis, _ = strconv.Atoi(v)
			}
		}
	}
	return p
}

// cpuSnap is the CPU time (user+system) of each process at one instant.
type cpuSnap [4]time.Duration

func (p procs) snap() cpuSnap {
	return cpuSnap{cpuTime(p.api), cpuTime(p.db), cpuTime(p.redis), cpuTime(os.Getpid())}
}

// cpuTime reads utime+stime of a process (0 when unknown).
func cpuTime(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces; fields after ")" are fixed.
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / clockTicks
}

// perOp formats the CPU microseconds each process spent per operation.
func perOp(from, to cpuSnap, n int) string {
	if n == 0 {
		return "-"
	}
	parts := make([]string, len(from))
	for i := range from {
		parts[i] = fmt.Sprintf("%.0f", float64((to[i]-from[i]).Microseconds())/float64(n))
	}
	return strings.Join(parts, "/")
}
