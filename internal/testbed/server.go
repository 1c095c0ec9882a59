// Package testbed runs the jindalai binary as a child process and private
// MariaDB/Redis pairs (through deploy/stack.sh), for the load tool
// (cmd/loadtest) and the fault tests (chaos). It is tooling, not part of the
// application.
package testbed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// RepoRoot returns the folder of the jindalai module, found by walking up
// from the working directory to the go.mod that declares it.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		raw, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(raw), "module jindalai\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("testbed: not inside the jindalai module")
		}
		dir = parent
	}
}

// BuildBinary builds the jindalai command into out (without the race
// detector: it is the server under test, not the test).
func BuildBinary(ctx context.Context, root, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, ".")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if raw, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("testbed: go build: %w\n%s", err, raw)
	}
	return nil
}

// ServerOptions describe one `jindalai serve` child process.
type ServerOptions struct {
	// Bin is the path of the built binary; Config its YAML file (may be empty).
	Bin, Config string
	// Env holds JINDALAI_* overrides, added to (and winning over) the
	// inherited environment.
	Env map[string]string
	// Log receives the process's stdout and stderr (nil: discarded).
	Log io.Writer
}

// Server is a running `jindalai serve` process.
type Server struct {
	// Addr is the HTTP address (host:port) from JINDALAI_HTTP_ADDR.
	Addr string
	cmd  *exec.Cmd
	done chan struct{}
	mu   sync.Mutex
	err  error
}

// StartServer starts the process; it does not wait for it to answer (see
// WaitReady).
func StartServer(o ServerOptions) (*Server, error) {
	addr := o.Env["JINDALAI_HTTP_ADDR"]
	if addr == "" {
		return nil, errors.New("testbed: JINDALAI_HTTP_ADDR is required")
	}
	args := []string{"serve"}
	if o.Config != "" {
		args = append(args, "-config", o.Config)
	}
	cmd := exec.Command(o.Bin, args...)
	cmd.Env = mergeEnv(os.Environ(), o.Env)
	if o.Log != nil {
		cmd.Stdout, cmd.Stderr = o.Log, o.Log
	}
	// Its own process group, so a terminal's Ctrl-C reaches only the tool,
	// which then stops the server in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("testbed: start %s: %w", o.Bin, err)
	}
	s := &Server{Addr: addr, cmd: cmd, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
		close(s.done)
	}()
	return s, nil
}

func mergeEnv(base []string, over map[string]string) []string {
	out := make([]string, 0, len(base)+len(over))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := over[k]; !ok {
			out = append(out, kv)
		}
	}
	keys := make([]string, 0, len(over))
	for k := range over {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, k+"="+over[k])
	}
	return out
}

// PID returns the process id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Exited reports whether the process has ended.
func (s *Server) Exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// URL returns the base URL of the server ("http://host:port").
func (s *Server) URL() string { return "http://" + s.Addr }

// WaitReady polls path (e.g. "/readyz") until it answers 200, the process
// exits, or timeout passes.
func (s *Server) WaitReady(path string, timeout time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for {
		if s.Exited() {
			return fmt.Errorf("testbed: server exited before it was ready: %v", s.exitErr())
		}
		resp, err := client.Get(s.URL() + path)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("testbed: %s%s not ready after %v (last: %v)", s.URL(), path, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *Server) exitErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Kill sends SIGKILL and waits for the process to be gone.
func (s *Server) Kill() error {
	if s.Exited() {
		return nil
	}
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-s.done:
		return nil
	case <-time.After(10 * time.Second):
		return errors.New("testbed: server does not die after SIGKILL")
	}
}

// Stop sends SIGTERM (a graceful drain) and SIGKILL after timeout. It
// returns the process's exit error when it had to be killed.
func (s *Server) Stop(timeout time.Duration) error {
	if s.Exited() {
		return nil
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		return nil
	case <-time.After(timeout):
		_ = s.Kill()
		return fmt.Errorf("testbed: server did not stop within %v; killed", timeout)
	}
}

// FreePort returns a loopback TCP port that is free right now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
