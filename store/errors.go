package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"net"

	"github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"

	"jindalai/model"
)

// MySQL error numbers the store translates.
const (
	mysqlDuplicateEntry  = 1062
	mysqlLockWaitTimeout = 1205
	mysqlDeadlock        = 1213
)

// translate turns driver errors into *model.Error: no rows → not_found (what
// names the object), duplicate key → conflict, a lost connection → unavailable.
// Other errors are wrapped as internal. A *model.Error passes through.
func translate(err error, what string) error {
	if err == nil {
		return nil
	}
	var me *model.Error
	if errors.As(err, &me) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		if what == "" {
			what = "记录"
		}
		return &model.Error{Code: model.CodeNotFound, Message: what + "不存在", Err: err}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &model.Error{Code: model.CodeUnavailable, Message: "服务繁忙，请稍后再试", Err: err}
	}
	var myErr *mysql.MySQLError
	if errors.As(err, &myErr) {
		switch myErr.Number {
		case mysqlDuplicateEntry:
			return &model.Error{Code: model.CodeConflict, Message: "记录已存在", Err: err}
		case mysqlLockWaitTimeout, mysqlDeadlock:
			return &model.Error{Code: model.CodeUnavailable, Message: "服务繁忙，请稍后再试", Err: err}
		}
		return &model.Error{Code: model.CodeInternal, Err: err}
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, mysql.ErrInvalidConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, redis.ErrClosed) {
		return &model.Error{Code: model.CodeUnavailable, Message: "服务暂不可用", Err: err}
	}
	return &model.Error{Code: model.CodeInternal, Err: err}
}

// isDuplicate reports whether err is MySQL's duplicate-key error.
func isDuplicate(err error) bool {
	var myErr *mysql.MySQLError
	return errors.As(err, &myErr) && myErr.Number == mysqlDuplicateEntry
}

// translateRedis wraps a Redis error as unavailable (redis.Nil is the caller's to handle).
func translateRedis(err error) error {
	if err == nil {
		return nil
	}
	var me *model.Error
	if errors.As(err, &me) {
		return err
	}
	return &model.Error{Code: model.CodeUnavailable, Message: "缓存暂不可用", Err: err}
}
