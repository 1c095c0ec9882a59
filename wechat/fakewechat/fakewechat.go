// Package fakewechat is a fake of the WeChat server API endpoints Jindalai
// uses, for tests (NewTLSServer) and the dev stack (ListenAndServeTLS). The
// SDK reaches it through wechat.FakeDialClient.
//
// Conventions: login code C gives openid "dev_C" and unionid "union_dev_C"
// (an empty code or one starting with "bad" gives errcode 40029); a phone code
// of 11 digits gives that phone number (anything else gives 40029); accepted
// subscribe sends are recorded. Calls that need an access token accept only
// tokens this server issued (else errcode 40001).
//
// Tests steer it with methods (FailNextSends, RefuseOpenID, SetDown, ...);
// the dev stack and out-of-process tests use the same controls over HTTP:
//
//	GET  /_fake/sends                       recorded sends as JSON
//	GET  /_fake/stats                       {"token_calls": n, "sends": n}
//	POST /_fake/fail-sends?n=N&errcode=E    next N sends fail with E (default -1)
//	POST /_fake/refuse?openid=X             sends to X fail with 43101
//	POST /_fake/down?down=true|false        answer 503 to every API call
//	POST /_fake/revoke-tokens               invalidate issued access tokens
//	POST /_fake/reset                       forget sends, failures, refusals, down, counters
package fakewechat

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// TokenExpiresIn is the expires_in of every access token issued.
const TokenExpiresIn = 7200

// Send is one accepted subscribe message.
type Send struct {
	ToUser           string            `json:"touser"`
	TemplateID       string            `json:"template_id"`
	Page             string            `json:"page"`
	Data             map[string]string `json:"data"` // keyword → value
	MiniProgramState string            `json:"miniprogram_state"`
	Lang             string            `json:"lang"`
	Time             time.Time         `json:"time"`
	MsgID            int64             `json:"msgid"`
}

// Server is the fake WeChat API, an http.Handler. It is safe for concurrent use.
type Server struct {
	mux *http.ServeMux

	mu          sync.Mutex
	sends       []Send
	failN       int
	failCode    int
	refused     map[string]bool
	down        bool
	tokenCalls  int
	tokens      map[string]bool // issued, still valid
	stableToken string
	nextMsgID   int64
}

// New returns a fake server with no recorded state.
func New() *Server {
	s := &Server{refused: map[string]bool{}, tokens: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sns/jscode2session", s.code2Session)
	mux.HandleFunc("GET /cgi-bin/token", s.token)
	mux.HandleFunc("POST /cgi-bin/stable_token", s.stableTokenHandler)
	mux.HandleFunc("/wxa/business/getuserphonenumber", s.phoneNumber)
	mux.HandleFunc("/cgi-bin/message/subscribe/send", s.subscribeSend)

	mux.HandleFunc("GET /_fake/sends", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Sends())
	})
	mux.HandleFunc("GET /_fake/stats", func(w http.ResponseWriter, _ *http.Request) {
		s.mu.Lock()
		st := map[string]int{"token_calls": s.tokenCalls, "sends": len(s.sends)}
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, st)
	})
	mux.HandleFunc("POST /_fake/fail-sends", s.controlFailSends)
	mux.HandleFunc("POST /_fake/refuse", func(w http.ResponseWriter, r *http.Request) {
		openid := r.URL.Query().Get("openid")
		if openid == "" {
			http.Error(w, "openid is required", http.StatusBadRequest)
			return
		}
		s.RefuseOpenID(openid)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /_fake/down", func(w http.ResponseWriter, r *http.Request) {
		down, err := strconv.ParseBool(r.URL.Query().Get("down"))
		if err != nil {
			http.Error(w, "down must be true or false", http.StatusBadRequest)
			return
		}
		s.SetDown(down)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /_fake/revoke-tokens", func(w http.ResponseWriter, _ *http.Request) {
		s.RevokeTokens()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /_fake/reset", func(w http.ResponseWriter, _ *http.Request) {
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
	s.mux = mux
	return s
}

// ServeHTTP answers WeChat API calls and /_fake/ control calls. While the
// server is down (SetDown) every API call gets HTTP 503; control calls work.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/_fake/") {
		s.mu.Lock()
		down := s.down
		s.mu.Unlock()
		if down {
			http.Error(w, "service unavailable", http.StatusServiceUnavailable)
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

// NewTLSServer starts a new fake on an httptest TLS server for tests; the
// caller closes the httptest.Server. Pass its Listener.Addr().String() to
// wechat.FakeDialClient.
func NewTLSServer() (*Server, *httptest.Server) {
	s := New()
	return s, httptest.NewTLSServer(s)
}

// Sends returns a copy of the recorded sends, oldest first.
func (s *Server) Sends() []Send {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Send, len(s.sends))
	for i, snd := range s.sends {
		snd.Data = maps.Clone(snd.Data)
		out[i] = snd
	}
	return out
}

// FailNextSends makes the next n subscribe sends fail with errcode (e.g. -1
// for "system busy"); they are not recorded.
func (s *Server) FailNextSends(n int, errcode int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failN, s.failCode = max(n, 0), errcode
}

// RefuseOpenID makes every send to openid fail with errcode 43101 (the user
// has not granted the message) until Reset.
func (s *Server) RefuseOpenID(openid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refused[openid] = true
}

// SetDown makes the server answer HTTP 503 to every API call (true) or serve
// normally again (false).
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// RevokeTokens invalidates every access token issued so far, as if it had
// expired or been refreshed elsewhere: calls using one get errcode 40001.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
	s.stableToken = ""
}

// Reset forgets recorded sends, pending failures, refused openids, the down
// state and the token call counter. Issued access tokens stay valid.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sends = nil
	s.failN, s.failCode = 0, 0
	clear(s.refused)
	s.down = false
	s.tokenCalls = 0
}

// TokenCalls returns how many times an access token was requested
// (/cgi-bin/token and /cgi-bin/stable_token) since New or Reset.
func (s *Server) TokenCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenCalls
}

// ListenAndServeTLS serves the fake over TLS with a self-signed certificate
// generated in memory, on addr, which must be a loopback address
// (127.0.0.1:port, [::1]:port or localhost:port), until ctx is done; it then
// shuts down and returns nil.
func (s *Server) ListenAndServeTLS(ctx context.Context, addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("fakewechat: address %q: %w", addr, err)
	}
	if !isLoopbackHost(host) {
		return fmt.Errorf("fakewechat: refusing to listen on non-loopback address %q", addr)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("fakewechat: %w", err)
	}
	return s.ServeTLS(ctx, ln)
}

// ServeTLS is ListenAndServeTLS on a listener the caller opened (e.g. on port
// 0 to learn the port); it must be bound to a loopback address. It closes ln.
func (s *Server) ServeTLS(ctx context.Context, ln net.Listener) error {
	tcp, ok := ln.Addr().(*net.TCPAddr)
	if !ok || !tcp.IP.IsLoopback() {
		_ = ln.Close()
		return fmt.Errorf("fakewechat: refusing to serve on non-loopback address %s", ln.Addr())
	}
	cert, err := selfSignedCert()
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("fakewechat: %w", err)
	}
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
	}
	stopped := make(chan struct{})
	defer close(stopped)
	go func() {
		select {
		case <-ctx.Done():
			shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(shutCtx)
		case <-stopped:
		}
	}()
	if err := srv.ServeTLS(ln, "", ""); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("fakewechat: %w", err)
	}
	return nil
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// WeChat API handlers.

func (s *Server) code2Session(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	code := q.Get("js_code")
	switch {
	case q.Get("appid") == "":
		writeErr(w, 41002, "appid missing")
	case q.Get("secret") == "":
		writeErr(w, 41004, "appsecret missing")
	case code == "" || strings.HasPrefix(code, "bad"):
		writeErr(w, 40029, "invalid code")
	default:
		writeJSON(w, http.StatusOK, map[string]string{
			"openid":      "dev_" + code,
			"unionid":     "union_dev_" + code,
			"session_key": randomSessionKey(),
		})
	}
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	s.tokenCalls++
	s.mu.Unlock()
	if errcode, msg := checkCredentials(q.Get("appid"), q.Get("secret")); errcode != 0 {
		writeErr(w, errcode, msg)
		return
	}
	s.mu.Lock()
	tok := s.issueLocked()
	s.mu.Unlock()
	writeToken(w, tok)
}

func (s *Server) stableTokenHandler(w http.ResponseWriter, r *http.Request) {
	var req struct {
		GrantType    string `json:"grant_type"`
		AppID        string `json:"appid"`
		Secret       string `json:"secret"`
		ForceRefresh bool   `json:"force_refresh"`
	}
	s.mu.Lock()
	s.tokenCalls++
	s.mu.Unlock()
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeErr(w, 47001, "data format error")
		return
	}
	if errcode, msg := checkCredentials(req.AppID, req.Secret); errcode != 0 {
		writeErr(w, errcode, msg)
		return
	}
	s.mu.Lock()
	// Like WeChat, the stable token stays the same until it is force-refreshed.
	if req.ForceRefresh || s.stableToken == "" {
		s.stableToken = s.issueLocked()
	}
	tok := s.stableToken
	s.mu.Unlock()
	writeToken(w, tok)
}

func (s *Server) phoneNumber(w http.ResponseWriter, r *http.Request) {
	if !s.checkCall(w, r) {
		return
	}
	var req struct {
		Code string `json:"code"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeErr(w, 47001, "data format error")
		return
	}
	if !isPhone(req.Code) {
		writeErr(w, 40029, "invalid code")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"errcode": 0,
		"errmsg":  "ok",
		"phone_info": map[string]any{
			"phoneNumber":     req.Code,
			"purePhoneNumber": req.Code,
			"countryCode":     "86",
			"watermark":       map[string]any{"timestamp": time.Now().Unix(), "appid": "fake"},
		},
	})
}

func (s *Server) subscribeSend(w http.ResponseWriter, r *http.Request) {
	if !s.checkCall(w, r) {
		return
	}
	var req struct {
		ToUser     string `json:"touser"`
		TemplateID string `json:"template_id"`
		Page       string `json:"page"`
		Data       map[string]struct {
			Value any `json:"value"`
		} `json:"data"`
		MiniProgramState string `json:"miniprogram_state"`
		Lang             string `json:"lang"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeErr(w, 47001, "data format error")
		return
	}
	switch {
	case req.ToUser == "":
		writeErr(w, 40003, "invalid openid")
		return
	case req.TemplateID == "":
		writeErr(w, 40037, "invalid template_id")
		return
	case len(req.Data) == 0:
		writeErr(w, 47003, "argument invalid! data is empty")
		return
	}
	data := make(map[string]string, len(req.Data))
	for k, v := range req.Data {
		data[k] = valueString(v.Value)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failN > 0 {
		s.failN--
		writeErr(w, s.failCode, "fake failure")
		return
	}
	if s.refused[req.ToUser] {
		writeErr(w, 43101, "user refuse to accept the msg")
		return
	}
	s.nextMsgID++
	s.sends = append(s.sends, Send{
		ToUser:           req.ToUser,
		TemplateID:       req.TemplateID,
		Page:             req.Page,
		Data:             data,
		MiniProgramState: req.MiniProgramState,
		Lang:             req.Lang,
		Time:             time.Now(),
		MsgID:            s.nextMsgID,
	})
	writeJSON(w, http.StatusOK, map[string]any{"errcode": 0, "errmsg": "ok", "msgid": s.nextMsgID})
}

// checkCall enforces POST and a valid access_token, answering the error
// itself when they are not.
func (s *Server) checkCall(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodPost {
		writeErr(w, 43002, "require POST method")
		return false
	}
	tok := r.URL.Query().Get("access_token")
	s.mu.Lock()
	valid := tok != "" && s.tokens[tok]
	s.mu.Unlock()
	if !valid {
		writeErr(w, 40001, "invalid credential, access_token is invalid or not latest")
		return false
	}
	return true
}

// Control handlers.

func (s *Server) controlFailSends(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	n, err := strconv.Atoi(q.Get("n"))
	if err != nil || n < 0 {
		http.Error(w, "n must be a non-negative integer", http.StatusBadRequest)
		return
	}
	errcode := -1
	if e := q.Get("errcode"); e != "" {
		if errcode, err = strconv.Atoi(e); err != nil || errcode == 0 {
			http.Error(w, "errcode must be a non-zero integer", http.StatusBadRequest)
			return
		}
	}
	s.FailNextSends(n, errcode)
	w.WriteHeader(http.StatusNoContent)
}

// Helpers.

func (s *Server) issueLocked() string {
	tok := "fake_at_" + rand.Text()
	s.tokens[tok] = true
	return tok
}

func checkCredentials(appID, secret string) (int, string) {
	switch {
	case appID == "":
		return 41002, "appid missing"
	case secret == "":
		return 41004, "appsecret missing"
	}
	return 0, ""
}

func writeToken(w http.ResponseWriter, tok string) {
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "expires_in": TokenExpiresIn})
}

func writeErr(w http.ResponseWriter, errcode int, errmsg string) {
	writeJSON(w, http.StatusOK, map[string]any{"errcode": errcode, "errmsg": errmsg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func randomSessionKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.StdEncoding.EncodeToString(b)
}

func isPhone(s string) bool {
	if len(s) != 11 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func valueString(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	}
	b, _ := json.Marshal(v)
	return string(b)
}
