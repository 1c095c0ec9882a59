// Package chaos holds the fault tests: while residents use the API, the API
// process is killed with SIGKILL and restarted, Redis is restarted empty and
// MySQL is stopped, and the tests check that nothing acknowledged is lost
// and that the API answers (503 when it must) instead of hanging.
//
// They run against their OWN MariaDB and Redis (deploy/stack.sh with a
// private JINDALAI_STACK_DIR and free loopback ports) and the jindalai binary
// as a child process, never the shared development servers. The short form
// runs in every `go test ./...`; `make chaos` (-tags chaos) runs the long
// form. -short skips them. The first fault test that runs builds the binary
// and starts the stack (useSuite), so `go test ./... -run X` for some other
// package's X costs nothing here.
package chaos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"jindalai/internal/testbed"
)

// suite is what the first fault test prepared for every test (prepareSuite).
var suite struct {
	once  sync.Once
	root  string
	dir   string
	bin   string
	stack *testbed.Stack
	// skip says why the fault tests are skipped, err why they fail.
	skip string
	err  error
}

// findTool reports whether a command the stack needs is installed: on PATH
// or in /usr/sbin, which deploy/stack.sh adds to PATH itself.
var findTool = func(name string) error {
	if _, err := exec.LookPath(name); err == nil {
		return nil
	}
	_, err := os.Stat("/usr/sbin/" + name)
	return err
}

// TestMain stops the stack and removes its folder after the tests, if a
// fault test started them.
func TestMain(m *testing.M) {
	code := m.Run()
	if suite.stack != nil {
		if err := suite.stack.Run("down", time.Minute); err != nil {
			fmt.Fprintln(os.Stderr, "chaos:", err)
		}
	}
	if suite.dir != "" {
		_ = os.RemoveAll(suite.dir)
	}
	os.Exit(code)
}

// useSuite prepares the suite on its first call and skips or fails t as
// that preparation decided: skipped with -short or, off CI, when the stack's
// tools are missing; failed when they are missing on CI (CI never passes by
// skipping) or the binary or the stack could not be made.
func useSuite(t *testing.T) {
	t.Helper()
	suite.once.Do(prepareSuite)
	if suite.err != nil {
		t.Fatal(suite.err)
	}
	if suite.skip != "" {
		t.Skip(suite.skip)
	}
}

// prepareSuite builds the jindalai binary and starts the private stack in a
// temporary folder.
func prepareSuite() {
	if testing.Short() {
		suite.skip = "-short: fault tests skipped"
		return
	}
	for _, c := range []string{"mariadbd", "mariadb-install-db", "redis-server"} {
		if findTool(c) != nil {
			suite.skip = c + " not installed (deploy/stack.sh up installs it)"
			if os.Getenv("CI") == "true" {
				suite.err, suite.skip = errors.New("chaos: "+suite.skip), ""
			}
			return
		}
	}
	suite.err = startSuite()
}

func startSuite() error {
	root, err := testbed.RepoRoot()
	if err != nil {
		return fmt.Errorf("chaos: %w", err)
	}
	// A short folder: MariaDB's socket path must stay under 108 bytes.
	dir, err := os.MkdirTemp("", "jdlchaos")
	if err != nil {
		return fmt.Errorf("chaos: %w", err)
	}
	suite.dir = dir
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	suite.root, suite.bin = root, filepath.Join(dir, "jindalai")
	if err := testbed.BuildBinary(ctx, root, suite.bin); err != nil {
		return fmt.Errorf("chaos: %w", err)
	}
	st, err := testbed.NewStack(root, filepath.Join(dir, "stack"))
	if err != nil {
		return fmt.Errorf("chaos: %w", err)
	}
	if err := st.Run("up", 3*time.Minute); err != nil {
		_ = st.Run("down", time.Minute)
		return fmt.Errorf("chaos: %w", err)
	}
	suite.stack = st
	return nil
}
