package main

import (
	"context"
	"net/http"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// The raw baselines: what the servers under the API do at best, measured in
// the same run, at the same concurrency, against the same servers.

// benchWritesDDL is the table of the minimal durable write.
const benchWritesDDL = `CREATE TABLE IF NOT EXISTS bench_writes (
	id         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	worker     INT             NOT NULL,
	seq        INT             NOT NULL,
	payload    VARCHAR(64)     NOT NULL,
	created_at DATETIME(3)     NOT NULL,
	PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`

// mysqlWrite is one durable one-row INSERT transaction (BEGIN, INSERT,
// COMMIT, with innodb_flush_log_at_trx_commit as the server is configured).
func mysqlWrite(ctx context.Context, b *bench) (op, plan, error) {
	if _, err := b.st.DB.ExecContext(ctx, benchWritesDDL); err != nil {
		return nil, plan{}, err
	}
	return func(ctx context.Context, w, i int) error {
		tx, err := b.st.DB.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO bench_writes (worker, seq, payload, created_at) VALUES (?, ?, ?, UTC_TIMESTAMP(3))`,
			w, i, "durable write baseline"); err != nil {
			_ = tx.Rollback()
			return err
		}
		return tx.Commit()
	}, b.plan(), nil
}

// redisGet is one GET of an existing key.
func redisGet(ctx context.Context, b *bench) (op, plan, error) {
	key := b.st.Keys.Prefix() + "baseline:get"
	if err := b.st.Redis.Set(ctx, key, "一个用于基准测试的值", 0).Err(); err != nil {
		return nil, plan{}, err
	}
	return func(ctx context.Context, w, i int) error {
		return b.st.Redis.Get(ctx, key).Err()
	}, b.plan(), nil
}

// baselineScript reads and writes one key, as the application's small
// scripts do (KEYS[1]: a hash; ARGV[1]: a field).
var baselineScript = redis.NewScript(`
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
return n`)

// redisEvalSHA is one EVALSHA of a small read-and-write script.
func redisEvalSHA(ctx context.Context, b *bench) (op, plan, error) {
	key := b.st.Keys.Prefix() + "baseline:eval"
	if err := baselineScript.Load(ctx, b.st.Redis).Err(); err != nil {
		return nil, plan{}, err
	}
	return func(ctx context.Context, w, i int) error {
		return baselineScript.EvalSha(ctx, b.st.Redis, []string{key}, strconv.Itoa(w)).Err()
	}, b.plan(), nil
}

// healthz is the API process doing no work: routing, middleware, a JSON reply.
func healthz(ctx context.Context, b *bench) (op, plan, error) {
	return func(ctx context.Context, w, i int) error {
		_, err := b.http.expect(ctx, call{method: "GET", path: "/healthz"}, http.StatusOK)
		return err
	}, b.plan(), nil
}
