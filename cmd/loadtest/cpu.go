package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"jindalai/cmd/internal/benchkit"
	"jindalai/store"
)

// procs are the processes whose CPU time is accounted per operation: the
// API server, MariaDB, Redis and this load tool.
type procs struct{ api, db, redis int }

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
	return cpuSnap{benchkit.ProcCPU(p.api), benchkit.ProcCPU(p.db), benchkit.ProcCPU(p.redis), benchkit.ProcCPU(os.Getpid())}
}

// perOp formats the CPU microseconds each process spent per operation,
// from the CPU time they spent over n operations.
func perOp(spent cpuSnap, n int) string {
	if n == 0 {
		return "-"
	}
	parts := make([]string, len(spent))
	for i := range spent {
		parts[i] = fmt.Sprintf("%.0f", float64(spent[i].Microseconds())/float64(n))
	}
	return strings.Join(parts, "/")
}
