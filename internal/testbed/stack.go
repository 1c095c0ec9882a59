package testbed

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Stack is a private MariaDB and Redis pair managed by deploy/stack.sh in its
// own state folder and on its own loopback ports, so stopping it never
// touches the shared development servers.
type Stack struct {
	Root      string // the repository (where deploy/stack.sh is)
	Dir       string // JINDALAI_STACK_DIR
	MySQLPort int
	RedisPort int
}

// NewStack returns a stack in dir on two free ports; nothing is started.
func NewStack(root, dir string) (*Stack, error) {
	mp, err := FreePort()
	if err != nil {
		return nil, err
	}
	rp, err := FreePort()
	if err != nil {
		return nil, err
	}
	for rp == mp {
		if rp, err = FreePort(); err != nil {
			return nil, err
		}
	}
	return &Stack{Root: root, Dir: dir, MySQLPort: mp, RedisPort: rp}, nil
}

// Run runs `deploy/stack.sh cmd` (up, down, stop-mysql, start-mysql,
// stop-redis, start-redis) for this stack, bounded by timeout.
func (s *Stack) Run(cmd string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c := exec.CommandContext(ctx, filepath.Join(s.Root, "deploy", "stack.sh"), cmd)
	c.Env = append(os.Environ(),
		"JINDALAI_STACK_DIR="+s.Dir,
		"JINDALAI_STACK_MYSQL_PORT="+strconv.Itoa(s.MySQLPort),
		"JINDALAI_STACK_REDIS_PORT="+strconv.Itoa(s.RedisPort))
	out, err := c.CombinedOutput()
	if err != nil {
		return fmt.Errorf("testbed: stack.sh %s: %w\n%s", cmd, err, out)
	}
	return nil
}

// DSN returns the DSN of database db on the stack's MariaDB (db may be empty
// for a server-level connection).
func (s *Stack) DSN(db string) string {
	return fmt.Sprintf("jindalai:jindalai@tcp(127.0.0.1:%d)/%s?parseTime=true&loc=UTC&multiStatements=true", s.MySQLPort, db)
}

// RedisAddr returns the stack's Redis address.
func (s *Stack) RedisAddr() string { return fmt.Sprintf("127.0.0.1:%d", s.RedisPort) }

// MySQLPID returns the pid of the stack's mariadbd (from its pid file).
func (s *Stack) MySQLPID() (int, error) {
	raw, err := os.ReadFile(filepath.Join(s.Dir, "mysql", "mysqld.pid"))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(raw)))
}
