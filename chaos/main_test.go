// Package chaos holds the fault tests: while residents use the API, the API
// process is killed with SIGKILL and restarted, Redis is restarted empty and
// MySQL is stopped, and the tests check that nothing acknowledged is lost
// and that the API answers (503 when it must) instead of hanging.
//
// They run against their OWN MariaDB and Redis (deploy/stack.sh with a
// private JINDALAI_STACK_DIR and free loopback ports) and the jindalai binary
// as a child process, never the shared development servers. The short form
// runs in every `go test ./...`; `make chaos` (-tags chaos) runs the long
// form. -short skips them.
package chaos

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"jindalai/internal/testbed"
)

// suite is what TestMain prepared for every test.
var suite struct {
	root  string
	bin   string
	stack *testbed.Stack
	skip  string
}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	// testing.Short needs flag.Parse, which m.Run does; read -short directly.
	for _, a := range os.Args[1:] {
		if a == "-test.short" || a == "-test.short=true" {
			suite.skip = "-short: fault tests skipped"
			return m.Run()
		}
	}
	for _, c := range []string{"mariadbd", "mariadb-install-db", "redis-server"} {
		if _, err := exec.LookPath(c); err != nil {
			if _, err := os.Stat("/usr/sbin/" + c); err != nil {
				suite.skip = c + " not installed (deploy/stack.sh up installs it)"
				if os.Getenv("CI") == "true" {
					fmt.Fprintln(os.Stderr, "chaos:", suite.skip)
					return 1
				}
				return m.Run()
			}
		}
	}
	root, err := testbed.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		return 1
	}
	// A short folder: MariaDB's socket path must stay under 108 bytes.
	dir, err := os.MkdirTemp("", "jdlchaos")
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	suite.root, suite.bin = root, filepath.Join(dir, "jindalai")
	if err := testbed.BuildBinary(ctx, root, suite.bin); err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		return 1
	}
	st, err := testbed.NewStack(root, filepath.Join(dir, "stack"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		return 1
	}
	suite.stack = st
	if err := st.Run("up", 3*time.Minute); err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		_ = st.Run("down", time.Minute)
		return 1
	}
	code := m.Run()
	if err := st.Run("down", time.Minute); err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
	}
	return code
}
