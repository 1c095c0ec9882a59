package fakewechat_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"jindalai/wechat/fakewechat"
)

func do(t *testing.T, hc *http.Client, method, url, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func errcode(t *testing.T, b []byte) int {
	t.Helper()
	var r struct {
		ErrCode int `json:"errcode"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return r.ErrCode
}

func token(t *testing.T, hc *http.Client, base string) string {
	t.Helper()
	_, b := do(t, hc, "POST", base+"/cgi-bin/stable_token", `{"grant_type":"client_credential","appid":"a","secret":"s"}`)
	var r struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.Unmarshal(b, &r); err != nil || r.AccessToken == "" || r.ExpiresIn != 7200 {
		t.Fatalf("stable_token: %s", b)
	}
	return r.AccessToken
}

func TestHTTPAPIAndControls(t *testing.T) {
	t.Parallel()
	fake, srv := fakewechat.NewTLSServer()
	defer srv.Close()
	hc, base := srv.Client(), srv.URL

	tok := token(t, hc, base)
	if tok2 := token(t, hc, base); tok2 != tok {
		t.Fatal("stable token changed without force_refresh")
	}
	send := `{"touser":"dev_C","template_id":"T","page":"p","data":{"thing1":{"value":"v"},"number2":{"value":3}},"miniprogram_state":"formal","lang":"zh_CN"}`
	if _, b := do(t, hc, "POST", base+"/cgi-bin/message/subscribe/send?access_token=", send); errcode(t, b) != 40001 {
		t.Fatalf("no token: %s", b)
	}
	if _, b := do(t, hc, "POST", base+"/cgi-bin/message/subscribe/send?access_token="+tok, send); errcode(t, b) != 0 {
		t.Fatalf("send: %s", b)
	}
	_, b := do(t, hc, "GET", base+"/_fake/sends", "")
	var sends []fakewechat.Send
	if err := json.Unmarshal(b, &sends); err != nil || len(sends) != 1 ||
		sends[0].Data["thing1"] != "v" || sends[0].Data["number2"] != "3" || sends[0].ToUser != "dev_C" {
		t.Fatalf("sends: %s", b)
	}

	if st, _ := do(t, hc, "POST", base+"/_fake/fail-sends?n=2&errcode=45009", ""); st != http.StatusNoContent {
		t.Fatalf("fail-sends status %d", st)
	}
	for range 2 {
		if _, b := do(t, hc, "POST", base+"/cgi-bin/message/subscribe/send?access_token="+tok, send); errcode(t, b) != 45009 {
			t.Fatalf("failed send: %s", b)
		}
	}
	do(t, hc, "POST", base+"/_fake/refuse?openid=dev_C", "")
	if _, b := do(t, hc, "POST", base+"/cgi-bin/message/subscribe/send?access_token="+tok, send); errcode(t, b) != 43101 {
		t.Fatalf("refused send: %s", b)
	}
	do(t, hc, "POST", base+"/_fake/down?down=true", "")
	if st, _ := do(t, hc, "GET", base+"/sns/jscode2session?appid=a&secret=s&js_code=C", ""); st != http.StatusServiceUnavailable {
		t.Fatalf("down: status %d", st)
	}
	_, b = do(t, hc, "GET", base+"/_fake/stats", "")
	if !strings.Contains(string(b), `"token_calls":2`) || !strings.Contains(string(b), `"sends":1`) {
		t.Fatalf("stats: %s", b)
	}
	if st, _ := do(t, hc, "POST", base+"/_fake/reset", ""); st != http.StatusNoContent {
		t.Fatalf("reset status %d", st)
	}
	if len(fake.Sends()) != 0 || fake.TokenCalls() != 0 {
		t.Fatal("reset kept state")
	}
	if _, b := do(t, hc, "GET", base+"/sns/jscode2session?appid=a&secret=s&js_code=C", ""); !strings.Contains(string(b), `"openid":"dev_C"`) {
		t.Fatalf("after reset: %s", b)
	}
	if _, b := do(t, hc, "GET", base+"/sns/jscode2session?appid=a&secret=s&js_code=bad", ""); errcode(t, b) != 40029 {
		t.Fatalf("bad code: %s", b)
	}
	do(t, hc, "POST", base+"/_fake/revoke-tokens", "")
	if _, b := do(t, hc, "POST", base+"/wxa/business/getuserphonenumber?access_token="+tok, `{"code":"13812345678"}`); errcode(t, b) != 40001 {
		t.Fatalf("revoked token: %s", b)
	}
	tok = token(t, hc, base)
	_, b = do(t, hc, "POST", base+"/wxa/business/getuserphonenumber?access_token="+tok, `{"code":"13812345678"}`)
	if !strings.Contains(string(b), `"purePhoneNumber":"13812345678"`) || !strings.Contains(string(b), `"countryCode":"86"`) {
		t.Fatalf("phone: %s", b)
	}
	if st, _ := do(t, hc, "POST", base+"/_fake/fail-sends?n=x", ""); st != http.StatusBadRequest {
		t.Fatalf("bad n: status %d", st)
	}
}

func TestServeTLSLoopback(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fakewechat.New().ServeTLS(ctx, ln) }()

	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // self-signed test cert
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	st, b := do(t, hc, "GET", "https://"+ln.Addr().String()+"/sns/jscode2session?appid=a&secret=s&js_code=X", "")
	if st != http.StatusOK || !strings.Contains(string(b), `"openid":"dev_X"`) {
		t.Fatalf("%d %s", st, b)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ServeTLS: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ServeTLS did not stop")
	}
}

func TestListenRefusesNonLoopback(t *testing.T) {
	t.Parallel()
	s := fakewechat.New()
	for _, addr := range []string{":0", "0.0.0.0:0", "[::]:0", "192.0.2.1:8443", "example.com:443", "nonsense"} {
		if err := s.ListenAndServeTLS(context.Background(), addr); err == nil {
			t.Errorf("ListenAndServeTLS(%q) succeeded", addr)
		}
	}
}
