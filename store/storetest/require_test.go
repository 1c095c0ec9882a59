package storetest

import (
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"jindalai/internal/testbed/testrun"
)

// envHelper makes TestRequireHelper do its work: it is set only in the
// child processes TestRequireFailsOnCIAndSkipsElsewhere starts.
const envHelper = "JINDALAI_STORETEST_REQUIRE_HELPER"

// TestRequireHelper is an integration test as every package writes one
// (storetest.New); it does nothing unless run as a child of the test below.
func TestRequireHelper(t *testing.T) {
	if os.Getenv(envHelper) != "1" {
		t.Skip("run by TestRequireFailsOnCIAndSkipsElsewhere")
	}
	New(t)
	t.Log("HELPER REACHED THE DATABASE")
}

// TestRequireFailsOnCIAndSkipsElsewhere runs TestRequireHelper in a child
// process of this test binary without test servers (unset, or pointing at
// closed loopback ports): with CI=true it must fail, otherwise skip.
func TestRequireFailsOnCIAndSkipsElsewhere(t *testing.T) {
	closedMySQL, closedRedis := closedPort(t), closedPort(t)
	for _, c := range []struct {
		name      string
		ci        bool
		dsn, addr string
		wantFail  bool
	}{
		{name: "not configured", ci: false},
		{name: "not configured, CI", ci: true, wantFail: true},
		{name: "MySQL down", ci: false, dsn: "root@tcp(" + closedMySQL + ")/", addr: closedRedis},
		{name: "MySQL down, CI", ci: true, dsn: "root@tcp(" + closedMySQL + ")/", addr: closedRedis, wantFail: true},
		{name: "Redis down", ci: false, dsn: os.Getenv(EnvMySQL), addr: closedRedis},
		{name: "Redis down, CI", ci: true, dsn: os.Getenv(EnvMySQL), addr: closedRedis, wantFail: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if strings.HasPrefix(c.name, "Redis down") && c.dsn == "" {
				t.Skip(EnvMySQL + " not set: no MySQL to pair with a Redis that is down")
			}
			env := []string{envHelper + "=1", EnvMySQL + "=" + c.dsn, EnvRedis + "=" + c.addr}
			if c.ci {
				env = append(env, "CI=true")
			}
			out, failed := runHelper(t, env)
			switch {
			case strings.Contains(out, "HELPER REACHED THE DATABASE"):
				t.Fatalf("the helper got a database:\n%s", out)
			case c.wantFail && (!failed || !strings.Contains(out, "--- FAIL: TestRequireHelper")):
				t.Fatalf("want the helper to FAIL (exit status non-zero), got:\n%s", out)
			case !c.wantFail && (failed || !strings.Contains(out, "--- SKIP: TestRequireHelper")):
				t.Fatalf("want the helper to SKIP (exit status 0), got:\n%s", out)
			}
		})
	}
}

// runHelper runs TestRequireHelper alone in a child process with the test
// servers' variables and CI replaced by env, and returns its output and
// whether it exited with a failure.
func runHelper(t *testing.T, env []string) (string, bool) {
	t.Helper()
	return testrun.Rerun(t, time.Minute, []string{EnvMySQL, EnvRedis, envHelper}, env, "-test.run=^TestRequireHelper$")
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}
