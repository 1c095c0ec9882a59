package chaos

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"jindalai/internal/testbed/testrun"
)

// envChild, set to "tools-missing" in the children of
// TestSuiteStartsOnlyForFaultTests, makes findTool find nothing, so they
// see a machine without MariaDB and Redis whatever this one has.
const envChild = "JINDALAI_CHAOS_SUITE_CHILD"

func init() {
	if os.Getenv(envChild) == "tools-missing" {
		findTool = func(string) error { return errors.New("hidden by TestSuiteStartsOnlyForFaultTests") }
	}
}

// TestSuiteStartsOnlyForFaultTests runs this test binary again, on a
// machine without the stack's tools, with several -run selections: a fault
// test is skipped, or with CI=true fails the package (CI never passes by
// skipping); a selection without fault tests neither fails nor skips on
// CI, because only a fault test prepares the stack.
func TestSuiteStartsOnlyForFaultTests(t *testing.T) {
	if os.Getenv(envChild) != "" {
		t.Skip("a child of this test: it does not run itself again")
	}
	const missing = "mariadbd not installed"
	for _, c := range []struct {
		name     string
		args     []string
		ci       bool
		wantFail bool
		want     string
	}{
		{"fault test", []string{"-test.run=^TestChaosAPIKilled$"}, false, false, "--- SKIP: TestChaosAPIKilled"},
		{"fault test, CI", []string{"-test.run=^TestChaosAPIKilled$"}, true, true, "chaos: " + missing},
		{"all tests, CI", nil, true, true, "chaos: " + missing},
		{"a subtest of a fault test, CI", []string{"-test.run=Chaos/nothing"}, true, true, "chaos: " + missing},
		{"-short, CI", []string{"-test.short", "-test.run=Chaos"}, true, false, "--- SKIP: TestChaosAPIKilled"},
		{"no test of this package, CI", []string{"-test.run=^TestSomethingElse$"}, true, false, "no tests to run"},
		{"fault tests skipped, CI", []string{"-test.run=Chaos", "-test.skip=^TestChaos"}, true, false, "no tests to run"},
		{"-list, CI", []string{"-test.list=."}, true, false, "TestChaosAPIKilled"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, failed := runChild(t, c.ci, c.args...)
			if failed != c.wantFail || !strings.Contains(out, c.want) {
				t.Fatalf("exit status non-zero: %v, want %v; want the output to contain %q:\n%s", failed, c.wantFail, c.want, out)
			}
			if !c.wantFail && strings.Contains(out, missing) && !strings.Contains(c.want, "SKIP") {
				t.Fatalf("the tools were looked for although no fault test runs:\n%s", out)
			}
		})
	}
}

// runChild runs this test binary with args, the stack's tools hidden and
// CI=true or unset, and returns its output and whether it exited with a
// failure.
func runChild(t *testing.T, ci bool, args ...string) (string, bool) {
	t.Helper()
	env := []string{envChild + "=tools-missing"}
	if ci {
		env = append(env, "CI=true")
	}
	return testrun.Rerun(t, 2*time.Minute, []string{envChild}, env, args...)
}
