package wechat

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"

	"github.com/silenceper/wechat/v2/util"

	"jindalai/model"
)

// APIError is a non-zero errcode reported by the WeChat API. It is the cause
// (model.Error.Err) of every error this package returns for a failure that
// WeChat itself reported, so callers can get at the raw code with ErrCode.
type APIError struct {
	// API names the call: "jscode2session", "getuserphonenumber",
	// "subscribe.send" or "access_token".
	API     string
	ErrCode int64
	ErrMsg  string
}

// Error implements error.
func (e *APIError) Error() string {
	return fmt.Sprintf("wechat %s: errcode=%d errmsg=%s", e.API, e.ErrCode, e.ErrMsg)
}

// WeChat errcodes this package treats specially.
const (
	errSystemBusy       = -1
	errInvalidToken     = 40001
	errInvalidOpenID    = 40003
	errInvalidTokenType = 40014
	errInvalidCode      = 40029
	errInvalidTemplate  = 40037
	errCodeUsed         = 40163
	errRiskyUser        = 40226
	errMissingCode      = 41008
	errBadPage          = 41030
	errTokenExpired     = 42001
	errUserRefused      = 43101
	errSubscribeBanned  = 43107
	errSubscribeBusy    = 43108
	errRateLimited      = 45009
	errUserRateLimited  = 45011
	errBadTemplateData  = 47003
)

// Messages shown to users.
const (
	msgLoginCode   = "微信登录凭证无效或已使用，请重新登录"
	msgLoginRisky  = "当前微信账号存在安全风险，暂时无法登录"
	msgPhoneCode   = "手机号授权凭证无效或已使用，请重新授权"
	msgRefused     = "用户未订阅或已拒收该消息"
	msgBadMessage  = "订阅消息的模板或内容有误"
	msgBusy        = "微信服务繁忙，请稍后再试"
	msgTooMany     = "操作过于频繁，请稍后再试"
	msgUnavailable = "微信服务暂时不可用，请稍后再试"
	msgInternal    = "微信服务调用失败"
)

// ErrCode returns the WeChat errcode carried by err (an *APIError anywhere in
// its chain), or 0 when there is none.
func ErrCode(err error) int64 {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.ErrCode
	}
	return 0
}

// IsRefused reports whether err means the user has not granted (or has
// refused, or may not receive) the subscribe message: errcodes 43101, 43107
// and 43108. Such a send must not be retried and consumes no grant.
func IsRefused(err error) bool {
	switch ErrCode(err) {
	case errUserRefused, errSubscribeBanned, errSubscribeBusy:
		return true
	}
	return false
}

// IsRetryable reports whether the call that returned err may succeed if
// repeated later: WeChat was busy or rate-limited, the network failed or
// timed out, or the reply was not a valid WeChat answer. It is false for nil
// and for every error that repeating cannot fix (bad code, refused, bad
// template, misconfiguration).
func IsRetryable(err error) bool {
	switch model.ErrorCode(err) {
	case model.CodeUnavailable, model.CodeTooManyRequests:
		return true
	}
	return false
}

// errcodeInText matches the errcode the SDK formats into plain errors (the
// access-token fetch and Code2Session do not return util.CommonError).
var errcodeInText = regexp.MustCompile(`errcode=(-?\d+)\s*,?\s*(?:err(?:or)?msg=(.*))?`)

// apiErrorOf extracts the WeChat errcode from an error returned by the SDK.
// Transport errors (*url.Error) never carry one.
func apiErrorOf(api string, err error) (*APIError, bool) {
	var ce *util.CommonError
	if errors.As(err, &ce) {
		if ce.ErrCode == 0 {
			return nil, false
		}
		return &APIError{API: api, ErrCode: ce.ErrCode, ErrMsg: ce.ErrMsg}, true
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return nil, false
	}
	m := errcodeInText.FindStringSubmatch(err.Error())
	if m == nil {
		return nil, false
	}
	code, perr := strconv.ParseInt(m[1], 10, 64)
	if perr != nil || code == 0 {
		return nil, false
	}
	return &APIError{API: api, ErrCode: code, ErrMsg: redact(m[2])}, true
}

// isStaleToken reports whether err says the access token we sent is no longer
// valid, so dropping the cached one and trying once more may help.
func isStaleToken(api string, err error) bool {
	ae, ok := apiErrorOf(api, err)
	if !ok {
		return false
	}
	switch ae.ErrCode {
	case errInvalidToken, errTokenExpired, errInvalidTokenType:
		return true
	}
	return false
}

// callError maps an error from a WeChat API call (after the access token was
// obtained) to a *model.Error.
func callError(api string, err error) *model.Error {
	ae, ok := apiErrorOf(api, err)
	if !ok {
		return transportError(err)
	}
	code, msg := model.CodeInternal, msgInternal
	switch ae.ErrCode {
	case errInvalidCode, errCodeUsed, errMissingCode:
		code, msg = model.CodeInvalid, msgLoginCode
		if api == apiPhone {
			msg = msgPhoneCode
		}
	case errRiskyUser:
		code, msg = model.CodeInvalid, msgLoginRisky
	case errUserRefused, errSubscribeBanned, errSubscribeBusy:
		code, msg = model.CodeFailedPrecondition, msgRefused
	case errBadTemplateData, errInvalidTemplate, errInvalidOpenID, errBadPage:
		code, msg = model.CodeInvalid, msgBadMessage
	case errSystemBusy, errRateLimited, errInvalidToken, errTokenExpired, errInvalidTokenType:
		// A stale token that survived one refresh is WeChat's problem, not ours.
		code, msg = model.CodeUnavailable, msgBusy
	case errUserRateLimited:
		code, msg = model.CodeTooManyRequests, msgTooMany
	}
	e := model.Wrap(code, ae, msg)
	if code == model.CodeInvalid && (api == apiLogin || api == apiPhone) {
		// The caller's request field at fault is the wx.login or
		// getPhoneNumber code.
		e.Fields = map[string]string{"code": msg}
	}
	return e
}

// tokenError maps an error from obtaining the access token to a *model.Error.
// WeChat errcodes other than "busy" mean our AppID/AppSecret or IP allowlist
// is wrong: internal, and not retryable.
func tokenError(err error) *model.Error {
	ae, ok := apiErrorOf(apiToken, err)
	if !ok {
		return transportError(err)
	}
	switch ae.ErrCode {
	case errSystemBusy, errRateLimited, errUserRateLimited:
		return model.Wrap(model.CodeUnavailable, ae, msgBusy)
	}
	return model.Wrap(model.CodeInternal, ae, msgInternal)
}

// transportError wraps a network failure, timeout, non-200 status, a reply
// that is not JSON, or a cache failure: all worth retrying later.
func transportError(err error) *model.Error {
	return model.Wrap(model.CodeUnavailable, redactError(err), msgUnavailable)
}

// secretParam matches query parameters whose values must never reach logs:
// the SDK puts the AppSecret, access token and login code into URLs, and its
// errors (and *url.Error) quote those URLs.
var secretParam = regexp.MustCompile(`(?i)\b(secret|access_token|js_code|code)=[^&\s"']*`)

func redact(s string) string {
	return secretParam.ReplaceAllString(s, "${1}=REDACTED")
}

// redactError returns err with secrets removed from its text. A *url.Error is
// copied with its URL redacted and its cause kept, so net.Error and context
// errors stay detectable; any other error keeps only a context error cause.
func redactError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: redact(ue.URL), Err: ue.Err}
	}
	msg := redact(err.Error())
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w", msg, context.DeadlineExceeded)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%s: %w", msg, context.Canceled)
	}
	return errors.New(msg)
}
