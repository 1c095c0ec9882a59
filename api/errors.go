package api

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"jindalai/model"
)

// errorBody is the error shape of API.md.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    model.Code        `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// statusOf maps every error code to its HTTP status, in this one place.
func statusOf(code model.Code) int {
	switch code {
	case model.CodeInvalid:
		return http.StatusBadRequest
	case model.CodeUnauthenticated:
		return http.StatusUnauthorized
	case model.CodePermissionDenied:
		return http.StatusForbidden
	case model.CodeNotFound:
		return http.StatusNotFound
	case model.CodeConflict, model.CodeFailedPrecondition:
		return http.StatusConflict
	case model.CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case model.CodePayloadTooLarge:
		return http.StatusRequestEntityTooLarge
	case model.CodeTooManyRequests:
		return http.StatusTooManyRequests
	case model.CodeUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

var defaultMessages = map[model.Code]string{
	model.CodeInvalid:            "请求参数有误",
	model.CodeUnauthenticated:    "请先登录",
	model.CodePermissionDenied:   "没有权限执行此操作",
	model.CodeNotFound:           "资源不存在",
	model.CodeConflict:           "操作冲突",
	model.CodeFailedPrecondition: "当前状态不允许此操作",
	model.CodePayloadTooLarge:    "请求体过大",
	model.CodeMethodNotAllowed:   "请求方法不支持",
	model.CodeTooManyRequests:    "操作过于频繁，请稍后再试",
	model.CodeUnavailable:        "服务暂不可用，请稍后再试",
	model.CodeInternal:           "服务器内部错误",
}

// fail writes err in the error shape. 5xx errors are logged here, once, with
// their cause; their details never reach the client.
func (s *Server) fail(c *gin.Context, err error) {
	code := model.ErrorCode(err)
	status := statusOf(code)
	detail := errorDetail{Code: code, Message: defaultMessages[code]}
	var me *model.Error
	if errors.As(err, &me) && status < 500 {
		if me.Message != "" {
			detail.Message = me.Message
		}
		detail.Fields = me.Fields
	}
	if code == model.CodeUnavailable && me != nil && me.Message != "" {
		detail.Message = me.Message
	}
	if status >= 500 {
		s.log.LogAttrs(c.Request.Context(), slog.LevelError, "request failed",
			slog.String("request_id", requestID(c)),
			slog.String("method", c.Request.Method),
			slog.String("route", c.FullPath()),
			slog.String("code", string(code)),
			slog.String("err", err.Error()))
	}
	switch status {
	case http.StatusServiceUnavailable:
		c.Header("Retry-After", "1")
	case http.StatusTooManyRequests:
		var wait time.Duration
		if me != nil {
			wait = me.RetryAfter
		}
		c.Header("Retry-After", strconv.Itoa(model.RetryAfterSeconds(wait)))
	}
	c.AbortWithStatusJSON(status, errorBody{Error: detail})
}

// respond writes out as JSON with status, or err in the error shape.
func (s *Server) respond(c *gin.Context, status int, out any, err error) {
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(status, out)
}
