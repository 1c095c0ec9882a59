package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"jindalai/cmd/internal/benchkit"
	"jindalai/internal/testbed"
	"jindalai/store"
)

// server is a `jindalai serve` child process over its own database and
// Redis key prefix.
type server struct {
	base      string
	proc      *testbed.Server
	adminDSN  string
	database  string
	redisAddr string
	prefix    string
}

// startServer creates a database, migrates it and loads the demo city (bin
// migrate, bin seed), starts bin serve on spare loopback ports with the fake
// WeChat and waits until it is ready.
func startServer(bin, config string) (*server, error) {
	adminDSN, redisAddr := os.Getenv("JINDALAI_TEST_MYSQL_DSN"), os.Getenv("JINDALAI_TEST_REDIS_ADDR")
	if adminDSN == "" || redisAddr == "" {
		return nil, fmt.Errorf(`JINDALAI_TEST_MYSQL_DSN and JINDALAI_TEST_REDIS_ADDR must be set (eval "$(deploy/stack.sh env)"), or pass -base`)
	}
	s := &server{adminDSN: adminDSN, redisAddr: redisAddr, database: "jdl_bench_" + randomHex(5), prefix: "bench" + randomHex(4) + ":"}
	dsn, err := benchkit.FreshDatabase(context.Background(), adminDSN, s.database)
	if err != nil {
		return nil, fmt.Errorf("create database: %w", err)
	}
	httpAddr, err := spareAddr()
	if err != nil {
		s.dropDatabase(context.Background())
		return nil, err
	}
	fakeAddr, err := spareAddr()
	if err != nil {
		s.dropDatabase(context.Background())
		return nil, err
	}
	vars := map[string]string{
		"JINDALAI_MYSQL_DSN":              dsn,
		"JINDALAI_MYSQL_MIGRATE_ON_START": "true",
		"JINDALAI_REDIS_ADDR":             redisAddr,
		"JINDALAI_REDIS_KEY_PREFIX":       s.prefix,
		"JINDALAI_HTTP_ADDR":              httpAddr,
		"JINDALAI_WECHAT_FAKE_ADDR":       fakeAddr,
		"JINDALAI_LOG_LEVEL":              "error",
	}
	env := os.Environ()
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	for _, step := range []string{"migrate", "seed"} {
		cmd := exec.Command(bin, step, "-config", config)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			s.dropDatabase(context.Background())
			return nil, fmt.Errorf("%s %s: %w\n%s", bin, step, err, out)
		}
	}
	s.proc, err = testbed.StartServer(testbed.ServerOptions{Bin: bin, Config: config, Env: vars, Log: os.Stderr})
	if err != nil {
		s.dropDatabase(context.Background())
		return nil, err
	}
	s.base = s.proc.URL()
	if err := s.proc.WaitReady("/readyz", 30*time.Second); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// stop ends the server (SIGTERM, then kill) and removes its database and keys.
func (s *server) stop() {
	if err := s.proc.Stop(15 * time.Second); err != nil {
		fmt.Fprintln(os.Stderr, "bookingbench:", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s.dropDatabase(ctx)
	rdb := redis.NewClient(&redis.Options{Addr: s.redisAddr})
	defer rdb.Close()
	if err := store.NewKeys(s.prefix).DeleteAll(ctx, rdb); err != nil {
		fmt.Fprintln(os.Stderr, "bookingbench: delete keys:", err)
	}
}

func (s *server) dropDatabase(ctx context.Context) {
	if err := benchkit.DropDatabase(ctx, s.adminDSN, s.database); err != nil {
		fmt.Fprintln(os.Stderr, "bookingbench: drop database:", err)
	}
}

// spareAddr returns a loopback host:port that is free right now.
func spareAddr() (string, error) {
	port, err := testbed.FreePort()
	if err != nil {
		return "", err
	}
	return "127.0.0.1:" + strconv.Itoa(port), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
