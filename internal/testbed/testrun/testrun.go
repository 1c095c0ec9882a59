// Package testrun runs a test binary again, for tests of what a test run
// does as a whole; only tests import it (it imports testing), so binaries
// that use testbed do not link the testing package.
package testrun

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// Rerun runs the running test binary again in a child process with args
// (-test.v and -test.count=1 added), within timeout: its environment is this
// one without CI and the variables named in drop, plus env. It returns the
// child's output and whether it exited with a failure; a child that cannot
// start or outlives timeout fails t. For tests of what a test run does as a
// whole (skip or fail, start a stack or not).
func Rerun(t *testing.T, timeout time.Duration, drop, env []string, args ...string) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], append([]string{"-test.v", "-test.count=1"}, args...)...)
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if name != "CI" && !slices.Contains(drop, name) {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if os.Getenv("GORACE") == "" {
		// The race detector's second of sleep at a clean exit.
		cmd.Env = append(cmd.Env, "GORACE=atexit_sleep_ms=0")
	}
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run the test binary: %v\n%s", err, out)
	}
	if ctx.Err() != nil {
		t.Fatalf("the test binary hung:\n%s", out)
	}
	return string(out), err != nil
}
