// Package benchkit holds what the benchmark commands (cmd/loadtest,
// cmd/dispatchbench, cmd/matchbench, cmd/claimstorm, cmd/bookingbench)
// share: a private database and Redis key prefix on the local stack,
// percentiles of measured latencies and the CPU time of a process.
package benchkit

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"jindalai/config"
	"jindalai/service"
)

// FreshDatabase drops db on the server of dsn if it exists, creates it empty
// (utf8mb4) and returns the DSN of db (dsn with its database replaced).
func FreshDatabase(ctx context.Context, dsn, db string) (string, error) {
	mc, err := mysql.ParseDSN(dsn)
	if err != nil {
		return "", fmt.Errorf("mysql dsn: %w", err)
	}
	if err := adminExec(ctx, mc,
		"DROP DATABASE IF EXISTS "+db,
		"CREATE DATABASE "+db+" CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		return "", err
	}
	mc.DBName = db
	return mc.FormatDSN(), nil
}

// DropDatabase drops db on the server of dsn.
func DropDatabase(ctx context.Context, dsn, db string) error {
	mc, err := mysql.ParseDSN(dsn)
	if err != nil {
		return fmt.Errorf("mysql dsn: %w", err)
	}
	return adminExec(ctx, mc, "DROP DATABASE IF EXISTS "+db)
}

// adminExec runs statements in order on the server of mc, outside any
// database, over one connection pool; it stops at the first that fails.
func adminExec(ctx context.Context, mc *mysql.Config, qs ...string) error {
	mc = mc.Clone()
	mc.DBName = ""
	conn, err := mysql.NewConnector(mc)
	if err != nil {
		return err
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	for _, q := range qs {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

// Percentile is the nearest-rank p-th percentile (0 < p ≤ 100) of sorted
// durations: the smallest one that at least p% of them do not exceed. It is
// 0 for no durations.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat times (100 on Linux).
const clockTicks = 100

// ProcCPU returns the CPU time (user + system) process pid has used, read
// from /proc; 0 when pid is 0 or unknown.
func ProcCPU(pid int) time.Duration {
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

// MatchConfig is the matcher's configuration as the server runs it by
// default (config.Defaults), for the tools that match in process.
func MatchConfig() service.MatchConfig {
	d := config.Defaults().Dispatch
	return service.MatchConfig{SearchRadiiM: d.SearchRadiiM, LoadPenaltyM: d.LoadPenaltyM, MaxOrgs: d.MaxOrgs,
		ReconcileEvery: d.SweepEvery, QueueLengthsEvery: d.QueueLengthsEvery}
}
