package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"jindalai/model"
)

// bindJSON decodes the JSON body into dst, rejecting unknown fields, trailing
// data, wrong types and bodies over the limit. It writes the error reply and
// returns false on failure.
func (s *Server) bindJSON(c *gin.Context, dst any) bool {
	raw, ok := s.readBody(c)
	if !ok {
		return false
	}
	if err := decodeStrict(raw, dst); err != nil {
		s.fail(c, err)
		return false
	}
	return true
}

// bindOptionalJSON binds a body that may be absent or empty.
func (s *Server) bindOptionalJSON(c *gin.Context, dst any) bool {
	raw, ok := s.readBody(c)
	if !ok {
		return false
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return true
	}
	if err := decodeStrict(raw, dst); err != nil {
		s.fail(c, err)
		return false
	}
	return true
}

// readBody reads the whole (limited) body; it must be JSON.
func (s *Server) readBody(c *gin.Context) ([]byte, bool) {
	if ct := c.GetHeader("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			s.fail(c, model.InvalidField("Content-Type", "必须是 application/json"))
			return nil, false
		}
	}
	raw, err := io.ReadAll(c.Request.Body)
	if err != nil {
		if isTooLarge(err) {
			s.fail(c, tooLarge(s.MaxBodyBytes))
		} else {
			s.fail(c, model.InvalidField("body", "无法读取请求体"))
		}
		return nil, false
	}
	return raw, true
}

// decodeStrict decodes one JSON object into dst. Errors: invalid_argument
// naming the field at fault ("body" when the JSON itself is broken or is
// not UTF-8, which encoding/json would read with U+FFFD in place of the
// bad bytes).
func decodeStrict(raw []byte, dst any) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		return model.InvalidField("body", "请求体不能为空")
	}
	if !utf8.Valid(raw) {
		return model.InvalidField("body", "必须是 UTF-8 编码的 JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return model.InvalidField("body", "请求体只能包含一个 JSON 对象")
	}
	if _, err := dec.Token(); err != io.EOF {
		return model.InvalidField("body", "请求体只能包含一个 JSON 对象")
	}
	return nil
}

func jsonError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		return model.InvalidField(field, fmt.Sprintf("类型错误，应为 %s", jsonKind(typeErr.Type.Kind().String())))
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return model.InvalidField("body", "不是合法的 JSON")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return model.InvalidField(name, "未知字段")
	default:
		return model.InvalidField("body", "不是合法的 JSON")
	}
}

func jsonKind(kind string) string {
	switch kind {
	case "int", "int64", "int32", "uint", "uint64", "float64", "float32":
		return "number"
	case "slice", "array":
		return "array"
	case "map", "struct":
		return "object"
	case "bool":
		return "boolean"
	}
	return kind
}

// idempotency reads the Idempotency-Key header. The fingerprint binds the key
// to the operation and the exact body, so a reused key with another body is
// refused instead of replayed; it is keyed (PII's index key), as bodies hold
// phones and names that a plain hash would give away to a guess. It returns
// nil when no key was sent.
func (s *Server) idempotency(c *gin.Context, userID int64, scope string, body any) (*model.Idempotency, error) {
	key := c.GetHeader("Idempotency-Key")
	if key == "" {
		return nil, nil
	}
	if len(key) > 64 || !printableASCII(key) {
		return nil, model.InvalidField("Idempotency-Key", "必须是 1–64 个可见 ASCII 字符")
	}
	canon, err := json.Marshal(body)
	if err != nil {
		return nil, model.Wrap(model.CodeInternal, err, "")
	}
	idem := &model.Idempotency{UserID: userID, Key: key, Scope: scope}
	copy(idem.Fingerprint[:], s.PII.Index("idempotency_keys.fingerprint", scope+"\n"+string(canon)))
	return idem, nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// pageOf reads ?limit= (default 20, 1..100) and ?cursor=.
func pageOf(c *gin.Context) (model.Page, error) {
	p := model.Page{Limit: 20, Cursor: c.Query("cursor")}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return p, model.InvalidField("limit", "必须是 1–100 的整数")
		}
		p.Limit = n
	}
	if len(p.Cursor) > 128 {
		return p, model.InvalidField("cursor", "无效的游标")
	}
	return p, nil
}

// pathID reads a positive integer path parameter; when it is not one it
// has answered 400 naming it and returns false.
func (s *Server) pathID(c *gin.Context, name string) (int64, bool) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id <= 0 {
		s.fail(c, model.InvalidField(name, "必须是正整数"))
		return 0, false
	}
	return id, true
}

// callerKey returns the caller and the create's Idempotency-Key (see
// idempotency); when the key cannot be read it has answered (400 naming a
// bad key, 500 when the body does not encode) and returns false.
func (s *Server) callerKey(c *gin.Context, scope string, body any) (model.Principal, *model.Idempotency, bool) {
	p := principal(c)
	idem, err := s.idempotency(c, p.UserID, scope, body)
	if err != nil {
		s.fail(c, err)
		return p, nil, false
	}
	return p, idem, true
}

// nearQuery reads ?lat=&lng=&radius_m=: both coordinates or neither.
func nearQuery(c *gin.Context) (*model.Point, int, error) {
	fe := model.FieldErrors{}
	lat, hasLat, err := queryFloat(c, "lat")
	if err != nil {
		fe.Add("lat", "必须是数字")
	}
	lng, hasLng, err := queryFloat(c, "lng")
	if err != nil {
		fe.Add("lng", "必须是数字")
	}
	radius, _, err := queryInt(c, "radius_m")
	if err != nil || radius < 0 || radius > 1<<31-1 {
		fe.Add("radius_m", "必须是正整数")
	}
	if hasLat != hasLng && len(fe) == 0 {
		if hasLat {
			fe.Add("lng", "需要同时提供 lat 和 lng")
		} else {
			fe.Add("lat", "需要同时提供 lat 和 lng")
		}
	}
	if err := fe.Err(); err != nil {
		return nil, 0, err
	}
	if !hasLat {
		return nil, int(radius), nil
	}
	return &model.Point{Lat: lat, Lng: lng}, int(radius), nil
}

// queryFloat reads an optional float query parameter; ok is false when absent.
func queryFloat(c *gin.Context, name string) (v float64, ok bool, err error) {
	raw, present := c.GetQuery(name)
	if !present || raw == "" {
		return 0, false, nil
	}
	v, err = strconv.ParseFloat(raw, 64)
	if err != nil {
		return 0, false, model.InvalidField(name, "必须是数字")
	}
	return v, true, nil
}

// queryInt reads an optional integer query parameter; ok is false when absent.
func queryInt(c *gin.Context, name string) (v int64, ok bool, err error) {
	raw, present := c.GetQuery(name)
	if !present || raw == "" {
		return 0, false, nil
	}
	v, err = strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return 0, false, model.InvalidField(name, "必须是整数")
	}
	return v, true, nil
}
