// Package model holds the domain types of Jindalai and its one error type.
package model

import (
	"errors"
	"fmt"
	"time"
)

// Code classifies an Error; the api package maps each code to one HTTP status.
type Code string

// The error codes of API.md "Conventions".
const (
	CodeInvalid            Code = "invalid_argument"
	CodeUnauthenticated    Code = "unauthenticated"
	CodePermissionDenied   Code = "permission_denied"
	CodeNotFound           Code = "not_found"
	CodeConflict           Code = "conflict"
	CodeFailedPrecondition Code = "failed_precondition"
	CodeTooManyRequests    Code = "too_many_requests"
	CodePayloadTooLarge    Code = "payload_too_large"
	CodeMethodNotAllowed   Code = "method_not_allowed"
	CodeUnavailable        Code = "unavailable"
	CodeInternal           Code = "internal"
)

// Error is the one error type of the application. Message is safe to show to
// the caller (Chinese where a resident or worker reads it); Fields names the
// request fields that were wrong; Err is the cause, never shown. RetryAfter
// is how long a too_many_requests caller must wait (0: not known).
type Error struct {
	Code       Code
	Message    string
	Fields     map[string]string
	Err        error
	RetryAfter time.Duration
}

// Error implements error.
func (e *Error) Error() string {
	msg := string(e.Code)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an Error with the given code and message whose cause is err.
func Wrap(code Code, err error, message string) *Error {
	return &Error{Code: code, Message: message, Err: err}
}

// ErrorCode returns the code of the first *Error in err's chain, "" for nil and
// CodeInternal for any other error.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// IsCode reports whether err carries the given code.
func IsCode(err error, code Code) bool { return ErrorCode(err) == code }

// FieldErrors collects per-field validation problems.
type FieldErrors map[string]string

// Add records a problem with field unless one is already recorded.
func (f FieldErrors) Add(field, problem string) {
	if _, ok := f[field]; !ok {
		f[field] = problem
	}
}

// Merge records the field problems of err, an invalid_argument Error (a
// check's result); nil, or an error naming no field, adds nothing — only
// checks' results are merged.
func (f FieldErrors) Merge(err error) {
	var e *Error
	if errors.As(err, &e) {
		for field, problem := range e.Fields {
			f.Add(field, problem)
		}
	}
}

// Err returns an invalid_argument Error naming every field, or nil when empty.
func (f FieldErrors) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Code: CodeInvalid, Message: "请求参数有误", Fields: map[string]string(f)}
}

// InvalidField returns an invalid_argument Error for one field.
func InvalidField(field, problem string) *Error {
	return &Error{Code: CodeInvalid, Message: "请求参数有误", Fields: map[string]string{field: problem}}
}

// RetryAfterSeconds is the wait d as a client is told it: whole seconds,
// rounded up, at least 1.
func RetryAfterSeconds(d time.Duration) int {
	secs := int((d + time.Second - 1) / time.Second)
	return max(secs, 1)
}

// NotFound returns a not_found Error for the named kind of object.
func NotFound(what string) *Error {
	return &Error{Code: CodeNotFound, Message: what + "不存在"}
}
