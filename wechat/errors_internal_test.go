package wechat

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/silenceper/wechat/v2/util"
)

func TestAPIErrorOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		code int64
		msg  string
	}{
		{"common error", util.NewCommonError("Send", 43101, "user refuse"), 43101, "user refuse"},
		{"wrapped common error", fmt.Errorf("x: %w", util.NewCommonError("Send", -1, "busy")), -1, "busy"},
		// The formats of the SDK's plain errors (credential and auth packages).
		{"stable token", errors.New("get stable access_token error : errcode=40125 , errormsg=invalid appsecret"), 40125, "invalid appsecret"},
		{"token", errors.New("get access_token error : errcode=-1 , errormsg=system error"), -1, "system error"},
		{"code2session", errors.New("Code2Session error : errcode=40029 , errmsg=invalid code"), 40029, "invalid code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ae, ok := apiErrorOf("x", tt.err)
			if !ok || ae.ErrCode != tt.code || ae.ErrMsg != tt.msg {
				t.Fatalf("got %+v, %v", ae, ok)
			}
		})
	}
	for _, err := range []error{
		errors.New("http get error : uri=https://api.weixin.qq.com/x , statusCode=503"),
		&url.Error{Op: "Get", URL: "https://h/?errcode=1", Err: errors.New("EOF")},
		util.NewCommonError("Send", 0, "ok"),
	} {
		if ae, ok := apiErrorOf("x", err); ok {
			t.Errorf("%v: got %+v", err, ae)
		}
	}
}

func TestRedactError(t *testing.T) {
	raw := "https://api.weixin.qq.com/sns/jscode2session?appid=wx1&secret=S3CRET&js_code=CODE1&grant_type=authorization_code"
	ue := &url.Error{Op: "Get", URL: raw, Err: context.DeadlineExceeded}
	got := redactError(ue)
	if s := got.Error(); strings.Contains(s, "S3CRET") || strings.Contains(s, "CODE1") || !strings.Contains(s, "appid=wx1") {
		t.Fatalf("redacted: %s", s)
	}
	if !errors.Is(got, context.DeadlineExceeded) {
		t.Fatal("lost the cause")
	}
	plain := fmt.Errorf("http get error : uri=%s?access_token=TOK , statusCode=503", raw)
	if s := redactError(plain).Error(); strings.Contains(s, "S3CRET") || strings.Contains(s, "TOK") {
		t.Fatalf("redacted: %s", s)
	}
	if s := callError(apiLogin, ue).Error(); strings.Contains(s, "S3CRET") {
		t.Fatalf("callError leaks: %s", s)
	}
}
