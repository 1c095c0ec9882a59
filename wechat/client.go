// Package wechat is Jindalai's client for the WeChat mini-program server API:
// login (code2session), the user's phone number and subscribe messages.
//
// It wraps github.com/silenceper/wechat/v2/miniprogram (never the SDK's root
// package, whose init() turns logrus to debug level). The SDK sends every
// request through the global util.DefaultHTTPClient; the program's main sets
// it once with InstallHTTPClient (DefaultClient in production, FakeDialClient
// against the fake server of package fakewechat in tests and the dev stack).
//
// Every error returned is a *model.Error: IsRetryable and IsRefused classify
// it, ErrCode gives the raw WeChat errcode. Error texts never contain the
// AppSecret, access tokens or login codes.
package wechat

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/silenceper/wechat/v2/cache"
	"github.com/silenceper/wechat/v2/credential"
	"github.com/silenceper/wechat/v2/miniprogram"
	"github.com/silenceper/wechat/v2/miniprogram/auth"
	"github.com/silenceper/wechat/v2/miniprogram/config"
	"github.com/silenceper/wechat/v2/miniprogram/subscribe"

	"jindalai/model"
)

// DefaultHTTPTimeout bounds one WeChat call when Config.HTTPTimeout is zero.
const DefaultHTTPTimeout = 10 * time.Second

// maxCodeLen bounds the login and phone codes we pass on; real ones are about
// 32 characters.
const maxCodeLen = 256

// API names used in APIError.API.
const (
	apiLogin     = "jscode2session"
	apiPhone     = "getuserphonenumber"
	apiSubscribe = "subscribe.send"
	apiToken     = "access_token"
)

// Config is the mini-program's credentials and call deadline.
type Config struct {
	AppID     string
	AppSecret string
	// HTTPTimeout bounds each call (including fetching the access token).
	// Give the same value to DefaultClient. Zero means DefaultHTTPTimeout.
	HTTPTimeout time.Duration
}

// Client calls the WeChat mini-program API. It is safe for concurrent use.
type Client struct {
	appID     string
	timeout   time.Duration
	cache     cache.Cache
	mp        *miniprogram.MiniProgram
	auth      *auth.Auth
	subscribe *subscribe.Subscribe
}

// New returns a Client that keeps the stable access token in c (shared by
// every replica, e.g. a RedisCache). c must not be nil.
func New(cfg Config, c cache.Cache) *Client {
	if c == nil {
		panic("wechat: New needs a cache")
	}
	timeout := cfg.HTTPTimeout
	if timeout <= 0 {
		timeout = DefaultHTTPTimeout
	}
	mp := miniprogram.NewMiniProgram(&config.Config{
		AppID:       cfg.AppID,
		AppSecret:   cfg.AppSecret,
		Cache:       c,
		UseStableAK: true,
	})
	return &Client{
		appID:     cfg.AppID,
		timeout:   timeout,
		cache:     c,
		mp:        mp,
		auth:      mp.GetAuth(),
		subscribe: mp.GetSubscribe(),
	}
}

// Code2Session exchanges a wx.login code for the user's openid, unionid and
// session key. A bad or used code is CodeInvalid.
func (c *Client) Code2Session(ctx context.Context, code string) (model.WeChatSession, error) {
	if err := checkCode(code); err != nil {
		return model.WeChatSession{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	// The SDK formats the code into the URL unescaped.
	res, err := c.auth.Code2SessionContext(ctx, url.QueryEscape(code))
	if err != nil {
		if res.ErrCode != 0 {
			err = &APIError{API: apiLogin, ErrCode: res.ErrCode, ErrMsg: res.ErrMsg}
		}
		return model.WeChatSession{}, callError(apiLogin, err)
	}
	if res.OpenID == "" {
		return model.WeChatSession{}, transportError(fmt.Errorf("wechat %s: reply without openid", apiLogin))
	}
	return model.WeChatSession{OpenID: res.OpenID, UnionID: res.UnionID, SessionKey: res.SessionKey}, nil
}

// PhoneNumber exchanges a getPhoneNumber button code for the user's phone
// number without country code (purePhoneNumber). A bad or used code is
// CodeInvalid.
func (c *Client) PhoneNumber(ctx context.Context, code string) (string, error) {
	if err := checkCode(code); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var phone string
	err := c.withToken(ctx, apiPhone, func() error {
		res, err := c.auth.GetPhoneNumberContext(ctx, code)
		if err != nil {
			return err
		}
		phone = res.PhoneInfo.PurePhoneNumber
		return nil
	})
	if err != nil {
		return "", err
	}
	if phone == "" {
		return "", transportError(fmt.Errorf("wechat %s: reply without purePhoneNumber", apiPhone))
	}
	return phone, nil
}

// SendSubscribe sends one subscribe message. A user who has not granted it
// gives an error for which IsRefused is true; a bad template or data gives
// CodeInvalid; both are final. IsRetryable tells whether to try again later.
//
// The SDK's Send has no context: ctx is checked before sending and bounds
// fetching the access token, and the HTTP client's timeout bounds the send.
func (c *Client) SendSubscribe(ctx context.Context, msg model.SubscribeMessage) error {
	if msg.ToOpenID == "" || msg.TemplateID == "" {
		return model.Errorf(model.CodeInvalid, msgBadMessage)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	data := make(map[string]*subscribe.DataItem, len(msg.Data))
	for k, v := range msg.Data {
		data[k] = &subscribe.DataItem{Value: v}
	}
	m := &subscribe.Message{
		ToUser:           msg.ToOpenID,
		TemplateID:       msg.TemplateID,
		Page:             msg.Page,
		Data:             data,
		MiniprogramState: msg.MiniProgramState,
		Lang:             "zh_CN",
	}
	return c.withToken(ctx, apiSubscribe, func() error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return c.subscribe.Send(m)
	})
}

// withToken obtains the access token under ctx (so the SDK call that follows
// finds it in the cache), runs call, and if WeChat says the token is stale,
// drops it from the cache and runs call once more. It returns a *model.Error.
func (c *Client) withToken(ctx context.Context, api string, call func() error) error {
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return transportError(err)
		}
		if _, err := c.mp.GetContext().GetAccessTokenContext(ctx); err != nil {
			return tokenError(err)
		}
		err := call()
		if err == nil {
			return nil
		}
		if attempt == 0 && isStaleToken(api, err) {
			// Best effort: if the delete fails, the retry fails the same way.
			_ = cache.DeleteContext(ctx, c.cache, c.tokenCacheKey())
			continue
		}
		return callError(api, err)
	}
}

// tokenCacheKey is the cache key under which the SDK's StableAccessToken keeps
// the token (credential/default_access_token.go). TestStaleTokenIsRefreshed
// catches a change of this format in a new SDK version.
func (c *Client) tokenCacheKey() string {
	return fmt.Sprintf("%s_stable_access_token_%s", credential.CacheKeyMiniProgramPrefix, c.appID)
}

// checkCode rejects an empty or absurdly long code before calling WeChat.
func checkCode(code string) error {
	if code == "" || len(code) > maxCodeLen {
		return &model.Error{
			Code:    model.CodeInvalid,
			Message: "请求参数有误",
			Fields:  map[string]string{"code": "invalid"},
		}
	}
	return nil
}
