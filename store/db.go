// Package store is Jindalai's persistence: raw SQL against MySQL/MariaDB (the
// truth) and Redis (derived, rebuildable state), one file per aggregate.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"

	"jindalai/model"
)

// Store gives access to MySQL and Redis. It is safe for concurrent use.
type Store struct {
	DB    *sql.DB
	Redis *redis.Client
	Keys  Keys
	// Loc is the zone times are returned in (they are stored in UTC).
	Loc *time.Location
	// idPlan caches how CreateRequests learns its row ids.
	idPlan atomic.Pointer[idPlan]
	// pushKinds are the notification kinds sent as subscribe messages
	// (Options.PushKinds); nil: every kind.
	pushKinds map[string]bool
	// sessions is the session near cache (sessioncache.go); nil: off.
	sessions *sessionCache
}

// Options configures Open.
type Options struct {
	DSN             string
	MaxOpenConns    int
	MaxIdleConns    int
	ConnMaxLifetime time.Duration
	RedisAddr       string
	RedisPassword   string
	RedisDB         int
	RedisPoolSize   int
	KeyPrefix       string
	Loc             *time.Location
	// PushKinds are the notification kinds that have a subscribe-message
	// template. A notification of another kind is stored in-app only
	// (push_state skipped, skip_reason no_template): the outbox sender never
	// claims it. Nil: every notification is left to the sender.
	PushKinds []string
	// SessionCacheTTL is how long a process may serve a session it read
	// from Redis without reading it again (sessioncache.go); 0: off. The
	// cache serves nothing until RunSessionInvalidation has subscribed.
	SessionCacheTTL time.Duration
}

// Open connects to MySQL and Redis. It does not wait for them to answer: the
// API starts while a dependency is down and /readyz reports it.
func Open(opts Options) (*Store, error) {
	cfg, err := mysql.ParseDSN(opts.DSN)
	if err != nil {
		return nil, fmt.Errorf("store: parse mysql dsn: %w", err)
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	// RowsAffected counts matched rows, so a conditional UPDATE that matched
	// reports 1 even when it set a column to its current value.
	cfg.ClientFoundRows = true
	// Arguments are escaped by the driver (one round trip per statement, no
	// server-side prepare) and a batch of statements may go in one round
	// trip (the request transactions of store/request_scripts.go). Queries
	// still take every value as a ? placeholder.
	cfg.InterpolateParams = true
	cfg.MultiStatements = true
	// Times are stored as DATETIME(3): a parameter with more digits than the
	// column keeps MariaDB from using an index range on it (a purge's
	// created_at < ? scanned the whole table), and MySQL would round where
	// MariaDB truncates. Every time parameter goes at millisecond precision.
	if err := cfg.Apply(mysql.TimeTruncate(time.Millisecond)); err != nil {
		return nil, fmt.Errorf("store: mysql options: %w", err)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 3 * time.Second
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = 30 * time.Second
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = 30 * time.Second
	}
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	// Every session works in UTC and in a strict mode.
	cfg.Params["time_zone"] = "'+00:00'"
	cfg.Params["sql_mode"] = "'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ENGINE_SUBSTITUTION'"
	cfg.Collation = "utf8mb4_unicode_ci"
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("store: mysql connector: %w", err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(opts.MaxOpenConns)
	db.SetMaxIdleConns(opts.MaxIdleConns)
	db.SetConnMaxLifetime(opts.ConnMaxLifetime)
	db.SetConnMaxIdleTime(time.Minute)

	rdb := redis.NewClient(&redis.Options{
		Addr:         opts.RedisAddr,
		Password:     opts.RedisPassword,
		DB:           opts.RedisDB,
		PoolSize:     opts.RedisPoolSize,
		DialTimeout:  time.Second,
		ReadTimeout:  time.Second,
		WriteTimeout: time.Second,
		MaxRetries:   1,
		// One dial per attempt: go-redis's default of 5 dials 100 ms apart
		// made every request wait ~0.8 s while Redis was down.
		DialerRetries: 1,
	})
	loc := opts.Loc
	if loc == nil {
		loc = time.UTC
	}
	st := &Store{DB: db, Redis: rdb, Keys: NewKeys(opts.KeyPrefix), Loc: loc}
	if opts.SessionCacheTTL > 0 {
		st.sessions = newSessionCache(opts.SessionCacheTTL)
	}
	st.pushKinds = kindSet(opts.PushKinds)
	return st, nil
}

// kindSet is the set of kinds; nil for nil (every kind, see Options.PushKinds).
func kindSet(kinds []string) map[string]bool {
	if kinds == nil {
		return nil
	}
	set := make(map[string]bool, len(kinds))
	for _, k := range kinds {
		set[k] = true
	}
	return set
}

// Close closes both connections.
func (s *Store) Close() error {
	return errors.Join(s.DB.Close(), s.Redis.Close())
}

// PingMySQL checks that MySQL answers; it returns unavailable otherwise.
func (s *Store) PingMySQL(ctx context.Context) error {
	if err := s.DB.PingContext(ctx); err != nil {
		return model.Wrap(model.CodeUnavailable, err, "数据库暂不可用")
	}
	return nil
}

// PingRedis checks that Redis answers; it returns unavailable otherwise.
func (s *Store) PingRedis(ctx context.Context) error {
	if err := s.Redis.Ping(ctx).Err(); err != nil {
		return model.Wrap(model.CodeUnavailable, err, "缓存暂不可用")
	}
	return nil
}

// now is the current instant truncated to the millisecond, as DATETIME(3) keeps it.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// rollbackOnPanic, deferred right after BeginTx, rolls tx back when the code
// running in it panics, so that its connection returns to the pool before
// the panic goes on (to the recovery middleware) rather than when the
// request's context ends — with service code inside some transactions.
func rollbackOnPanic(tx *sql.Tx) {
	if p := recover(); p != nil {
		_ = tx.Rollback()
		panic(p)
	}
}

// inTx runs fn in a transaction, committing when it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return translate(err, "")
	}
	defer rollbackOnPanic(tx)
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return translate(err, "")
	}
	return nil
}
