package benchkit

import (
	"context"
	"database/sql"
	"os"
	"strings"
	"testing"
	"time"

	"jindalai/store/storetest"
)

func TestPercentileIsNearestRank(t *testing.T) {
	var lat []time.Duration
	for i := 1; i <= 200; i++ {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 100 * time.Millisecond}, {90, 180 * time.Millisecond}, {99, 198 * time.Millisecond},
		{100, 200 * time.Millisecond}, {0.1, time.Millisecond}, {0, time.Millisecond}} {
		if got := Percentile(lat, c.p); got != c.want {
			t.Errorf("p%v of 1..200 ms = %v, want %v", c.p, got, c.want)
		}
	}
	if got := Percentile(nil, 99); got != 0 {
		t.Errorf("p99 of nothing = %v", got)
	}
	if got := Percentile([]time.Duration{7}, 99); got != 7 {
		t.Errorf("p99 of one = %v", got)
	}
}

func TestProcCPUReadsThisProcess(t *testing.T) {
	before := ProcCPU(os.Getpid())
	x := 0
	for t0 := time.Now(); time.Since(t0) < 100*time.Millisecond; {
		x++
	}
	if after := ProcCPU(os.Getpid()); after <= before || x == 0 {
		t.Errorf("CPU time after 100 ms of work: %v, before %v", after, before)
	}
	if got := ProcCPU(0); got != 0 {
		t.Errorf("pid 0: %v", got)
	}
	if got := ProcCPU(1 << 30); got != 0 {
		t.Errorf("no such pid: %v", got)
	}
}

// TestFreshDatabase: FreshDatabase creates an empty database (dropping one
// of the same name) that DropDatabase drops; a DSN that does not parse is
// an error of both.
func TestFreshDatabase(t *testing.T) {
	adminDSN, _ := storetest.Require(t)
	ctx := context.Background()
	name := "jdl_benchkit_" + storetest.KeyPrefix()[1:6]
	dsn, err := FreshDatabase(ctx, adminDSN, name)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (id INT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	// Fresh again: the table is gone.
	if _, err := FreshDatabase(ctx, adminDSN, name); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ?", name).Scan(&n); err != nil || n != 0 {
		t.Fatalf("tables after FreshDatabase: %d (%v)", n, err)
	}
	if err := DropDatabase(ctx, adminDSN, name); err != nil {
		t.Fatal(err)
	}
	// A statement the server refuses, or a DSN that does not parse, is an
	// error naming what failed.
	if _, err := FreshDatabase(ctx, adminDSN, name+" bad"); err == nil || !strings.Contains(err.Error(), "DROP DATABASE IF EXISTS "+name+" bad") {
		t.Errorf("FreshDatabase of a bad name: %v", err)
	}
	if err := DropDatabase(ctx, adminDSN, name+" bad"); err == nil || !strings.Contains(err.Error(), "DROP DATABASE") {
		t.Errorf("DropDatabase of a bad name: %v", err)
	}
	for _, bad := range []func() error{
		func() error { _, err := FreshDatabase(ctx, "no dsn", name); return err },
		func() error { return DropDatabase(ctx, "no dsn", name) },
	} {
		if err := bad(); err == nil || !strings.Contains(err.Error(), "mysql dsn") {
			t.Errorf("a DSN that does not parse: %v", err)
		}
	}
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ?", name).Scan(&n); err != nil || n != 0 {
		t.Fatalf("database after DropDatabase: %d (%v)", n, err)
	}
}
