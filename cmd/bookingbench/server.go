package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"

	"jindalai/internal/testbed"
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
	db, err := sql.Open("mysql", adminDSN)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE " + s.database + " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		return nil, fmt.Errorf("create database: %w", err)
	}
	cfg, err := mysql.ParseDSN(adminDSN)
	if err != nil {
		return nil, err
	}
	cfg.DBName = s.database
	httpAddr, err := spareAddr()
	if err != nil {
		s.dropDatabase()
		return nil, err
	}
	fakeAddr, err := spareAddr()
	if err != nil {
		s.dropDatabase()
		return nil, err
	}
	vars := map[string]string{
		"JINDALAI_MYSQL_DSN":              cfg.FormatDSN(),
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
			s.dropDatabase()
			return nil, fmt.Errorf("%s %s: %w\n%s", bin, step, err, out)
		}
	}
	s.proc, err = testbed.StartServer(testbed.ServerOptions{Bin: bin, Config: config, Env: vars, Log: os.Stderr})
	if err != nil {
		s.dropDatabase()
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
	s.dropDatabase()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rdb := redis.NewClient(&redis.Options{Addr: s.redisAddr})
	defer rdb.Close()
	for _, pattern := range []string{s.prefix + "*", "rate:" + s.prefix + "*"} {
		iter := rdb.Scan(ctx, 0, pattern, 500).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	}
}

func (s *server) dropDatabase() {
	db, err := sql.Open("mysql", s.adminDSN)
	if err != nil {
		return
	}
	defer db.Close()
	_, _ = db.Exec("DROP DATABASE IF EXISTS " + s.database)
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
