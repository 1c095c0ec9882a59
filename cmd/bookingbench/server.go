package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"
)

// server is a `jindalai serve` child process over its own database and
// Redis key prefix.
type server struct {
	base      string
	cmd       *exec.Cmd
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
	httpAddr, fakeAddr := spareAddr(), spareAddr()
	s.base = "http://" + httpAddr
	env := append(os.Environ(),
		"JINDALAI_MYSQL_DSN="+cfg.FormatDSN(),
		"JINDALAI_MYSQL_MIGRATE_ON_START=true",
		"JINDALAI_REDIS_ADDR="+redisAddr,
		"JINDALAI_REDIS_KEY_PREFIX="+s.prefix,
		"JINDALAI_HTTP_ADDR="+httpAddr,
		"JINDALAI_WECHAT_FAKE_ADDR="+fakeAddr,
		"JINDALAI_LOG_LEVEL=error",
	)
	for _, step := range []string{"migrate", "seed"} {
		cmd := exec.Command(bin, step, "-config", config)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			s.dropDatabase()
			return nil, fmt.Errorf("%s %s: %w\n%s", bin, step, err, out)
		}
	}
	s.cmd = exec.Command(bin, "serve", "-config", config)
	s.cmd.Env = env
	s.cmd.Stderr = os.Stderr
	if err := s.cmd.Start(); err != nil {
		s.dropDatabase()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("server not ready after 30s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop ends the server (SIGINT, then kill) and removes its database and keys.
func (s *server) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
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

func spareAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
