// Package storetest gives tests a private MySQL database (migrated) and a
// private Redis key prefix on the servers of the local stack
// (deploy/stack.sh env). Without them (not configured, or not answering) a
// test is skipped, except when CI=true: then it fails, so CI never passes by
// skipping.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"

	"jindalai/store"
)

// Env names the variables giving the test servers.
const (
	EnvMySQL = "JINDALAI_TEST_MYSQL_DSN"
	EnvRedis = "JINDALAI_TEST_REDIS_ADDR"
)

// Require skips (or, with CI=true, fails) a test when the test servers are
// not configured or do not answer, and returns their DSN and address.
func Require(t testing.TB) (dsn, redisAddr string) {
	t.Helper()
	dsn, redisAddr = os.Getenv(EnvMySQL), os.Getenv(EnvRedis)
	msg := ""
	if dsn == "" || redisAddr == "" {
		msg = fmt.Sprintf("%s and %s must be set (eval \"$(deploy/stack.sh env)\")", EnvMySQL, EnvRedis)
	} else if err := reachable(dsn, redisAddr); err != nil {
		msg = fmt.Sprintf("the test servers do not answer (deploy/stack.sh up): %v", err)
	}
	if msg != "" {
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dsn, redisAddr
}

// reachability remembers, per DSN and Redis address, whether the servers
// answered, so a test binary asks them once, not once a test.
var reachability struct {
	sync.Mutex
	checked map[string]error
}

// reachable pings MySQL and Redis (once a process for the pair).
func reachable(dsn, redisAddr string) error {
	reachability.Lock()
	defer reachability.Unlock()
	key := dsn + "\x00" + redisAddr
	if err, done := reachability.checked[key]; done {
		return err
	}
	err := ping(dsn, redisAddr)
	if reachability.checked == nil {
		reachability.checked = map[string]error{}
	}
	reachability.checked[key] = err
	return err
}

func ping(dsn, redisAddr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return fmt.Errorf("mysql: %w", err)
	}
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		return fmt.Errorf("mysql: %w", err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr, MaxRetries: -1})
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}

// Database creates a fresh, empty database for the test, dropped when the
// test ends, and returns its DSN and the Redis address.
func Database(t testing.TB) (dsn, redisAddr string) {
	t.Helper()
	adminDSN, redisAddr := Require(t)
	name := "jdl_t_" + randomHex(6)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := sql.Open("mysql", adminDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if db, err := sql.Open("mysql", adminDSN); err == nil {
			_, _ = db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name)
			_ = db.Close()
		}
	})
	cfg, err := mysql.ParseDSN(adminDSN)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DBName = name
	return cfg.FormatDSN(), redisAddr
}

// KeyPrefix returns a fresh Redis key prefix for a test.
func KeyPrefix() string { return "t" + randomHex(5) + ":" }

// New returns a Store over a fresh, migrated database and a unique Redis key
// prefix; both are removed when the test ends.
func New(t testing.TB) *store.Store {
	t.Helper()
	return Replicas(t, 1, 0)[0]
}

// Replicas returns n Stores over one fresh, migrated database and one
// unique Redis key prefix, as n replicas of the API would have, each with a
// session near cache of sessionCacheTTL (0: off).
func Replicas(t testing.TB, n int, sessionCacheTTL time.Duration) []*store.Store {
	t.Helper()
	dsn, redisAddr := Database(t)
	prefix := KeyPrefix()
	out := make([]*store.Store, n)
	for i := range out {
		st, err := store.Open(store.Options{
			DSN:             dsn,
			MaxOpenConns:    64,
			MaxIdleConns:    64,
			ConnMaxLifetime: time.Minute,
			RedisAddr:       redisAddr,
			RedisPoolSize:   64,
			KeyPrefix:       prefix,
			Loc:             shanghai(t),
			SessionCacheTTL: sessionCacheTTL,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if i == 0 {
				FlushPrefix(t, st)
			}
			_ = st.Close()
		})
		out[i] = st
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := store.Migrate(ctx, out[0].DB, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return out
}

// FlushPrefix deletes every Redis key of the store's prefix
// (store.Keys.DeleteAll): the test's FLUSHALL, which leaves other tests'
// keys alone.
func FlushPrefix(t testing.TB, st *store.Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := st.Keys.DeleteAll(ctx, st.Redis); err != nil && !strings.Contains(err.Error(), "closed") {
		t.Logf("flush redis prefix: %v", err)
	}
}

func shanghai(t testing.TB) *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
