package model

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"
	"unicode/utf8"
)

// The five service areas (五大领域).
const (
	AreaSocialAssistance    = "social_assistance"    // 社会救助
	AreaElderCare           = "elder_care"           // 养老服务
	AreaChildWelfare        = "child_welfare"        // 儿童福利
	AreaCommunityGovernance = "community_governance" // 社区治理
	AreaSocialAffairs       = "social_affairs"       // 社会事务
)

// AreaNames maps each area code to its Chinese name, in display order.
var AreaNames = map[string]string{
	AreaSocialAssistance:    "社会救助",
	AreaElderCare:           "养老服务",
	AreaChildWelfare:        "儿童福利",
	AreaCommunityGovernance: "社区治理",
	AreaSocialAffairs:       "社会事务",
}

// FieldType is the type of a category's extra field (as Open311 service
// definitions have).
type FieldType string

// The field types.
const (
	FieldString      FieldType = "string"   // one line, up to 200 characters
	FieldText        FieldType = "text"     // free text, up to 2000 characters
	FieldNumber      FieldType = "number"   // a JSON number
	FieldDatetime    FieldType = "datetime" // an RFC 3339 string
	FieldSingleValue FieldType = "single_choice"
	FieldMultiValue  FieldType = "multi_choice"
)

// FieldOption is one choice of a single_choice or multi_choice field.
type FieldOption struct {
	Key  string `json:"key"`
	Name string `json:"name"`
}

// CategoryField is an extra typed field a request of the category may carry.
type CategoryField struct {
	Name        string        `json:"name"`
	Label       string        `json:"label"`
	Type        FieldType     `json:"type"`
	Required    bool          `json:"required"`
	Order       int           `json:"order"`
	Description string        `json:"description,omitempty"`
	Options     []FieldOption `json:"options,omitempty"`
}

// Category is a concrete service of the catalogue (e.g. 上门探访).
type Category struct {
	Code        string          `json:"code"`
	Name        string          `json:"name"`
	Area        string          `json:"area"`
	AreaName    string          `json:"area_name"`
	Description string          `json:"description"`
	Fields      []CategoryField `json:"fields"`
	SortOrder   int             `json:"sort_order"`
	Active      bool            `json:"active"`
}

var (
	categoryCodePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{1,63}$`)
	fieldNamePattern    = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
)

// ValidCategoryCode reports whether code has the shape of a category code
// (what CheckDefinition requires of Code).
func ValidCategoryCode(code string) bool { return categoryCodePattern.MatchString(code) }

// CheckDefinition validates the category's own definition (code, name, area,
// fields). Errors: invalid_argument naming code, name, area, description or
// fields[i].
func (c Category) CheckDefinition() error {
	fe := FieldErrors{}
	if !categoryCodePattern.MatchString(c.Code) {
		fe.Add("code", "必须是 2–64 个小写字母、数字或下划线，以字母开头")
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(c.Name)); n == 0 || n > 64 {
		fe.Add("name", "必须是 1–64 个字符")
	}
	if _, ok := AreaNames[c.Area]; !ok {
		fe.Add("area", "必须是 social_assistance、elder_care、child_welfare、community_governance 或 social_affairs")
	}
	if utf8.RuneCountInString(c.Description) > 500 {
		fe.Add("description", "最长 500 个字符")
	}
	if len(c.Fields) > 20 {
		fe.Add("fields", "最多 20 个字段")
	}
	seen := map[string]bool{}
	for i, f := range c.Fields {
		name := fmt.Sprintf("fields[%d]", i)
		if p := f.definitionProblem(); p != "" {
			fe.Add(name, p)
		} else if seen[f.Name] {
			fe.Add(name, "字段名重复")
		}
		seen[f.Name] = true
	}
	return fe.Err()
}

func (f CategoryField) definitionProblem() string {
	switch {
	case !fieldNamePattern.MatchString(f.Name):
		return "name 必须是 1–32 个小写字母、数字或下划线，以字母开头"
	case utf8.RuneCountInString(f.Label) == 0 || utf8.RuneCountInString(f.Label) > 64:
		return "label 必须是 1–64 个字符"
	case utf8.RuneCountInString(f.Description) > 200:
		return "description 最长 200 个字符"
	}
	switch f.Type {
	case FieldString, FieldText, FieldNumber, FieldDatetime:
		if len(f.Options) > 0 {
			return "只有选择类字段可以有 options"
		}
	case FieldSingleValue, FieldMultiValue:
		if len(f.Options) == 0 || len(f.Options) > 50 {
			return "选择类字段需要 1–50 个 options"
		}
		keys := map[string]bool{}
		for _, o := range f.Options {
			if !fieldNamePattern.MatchString(o.Key) || utf8.RuneCountInString(o.Name) == 0 || utf8.RuneCountInString(o.Name) > 64 || keys[o.Key] {
				return "options 的 key 必须唯一且为小写字母、数字或下划线，name 为 1–64 个字符"
			}
			keys[o.Key] = true
		}
	default:
		return "type 必须是 string、text、number、datetime、single_choice 或 multi_choice"
	}
	return ""
}

// CheckFields validates the extra field values of a request of this
// category: every required field present and non-empty, every value of its
// field's type, no unknown field, every choice offered. nil or empty values
// are fine when no field is required. A nil value counts as absent.
// Errors: invalid_argument naming fields.<name>.
func (c Category) CheckFields(values map[string]any) error {
	fe := FieldErrors{}
	known := make(map[string]CategoryField, len(c.Fields))
	for _, f := range c.Fields {
		known[f.Name] = f
	}
	for name := range values {
		if _, ok := known[name]; !ok {
			fe.Add("fields."+name, "未知字段")
		}
	}
	for _, f := range c.Fields {
		v, present := values[f.Name]
		if !present || v == nil || v == "" {
			if f.Required {
				fe.Add("fields."+f.Name, "必填")
			}
			continue
		}
		if p := f.valueProblem(v); p != "" {
			fe.Add("fields."+f.Name, p)
		}
	}
	return fe.Err()
}

// valueProblem says what is wrong with a non-nil value, "" when it is fine.
func (f CategoryField) valueProblem(v any) string {
	switch f.Type {
	case FieldString, FieldText:
		s, ok := v.(string)
		limit := 200
		if f.Type == FieldText {
			limit = 2000
		}
		if !ok {
			return "应为字符串"
		}
		if !utf8.ValidString(s) || utf8.RuneCountInString(s) > limit {
			return fmt.Sprintf("最长 %d 个字符", limit)
		}
	case FieldNumber:
		if !isNumber(v) {
			return "应为数字"
		}
	case FieldDatetime:
		s, ok := v.(string)
		if !ok {
			return "应为 RFC 3339 时间字符串"
		}
		if _, problem := parseClientTime(s); problem != "" {
			return problem
		}
	case FieldSingleValue:
		s, ok := v.(string)
		if !ok {
			return "应为选项的 key（字符串）"
		}
		if !f.offers(s) {
			return "不是可选的选项"
		}
	case FieldMultiValue:
		list, ok := asStrings(v)
		if !ok {
			return "应为选项 key 的数组"
		}
		seen := map[string]bool{}
		for _, s := range list {
			if !f.offers(s) {
				return "包含不可选的选项 " + s
			}
			if seen[s] {
				return "选项重复"
			}
			seen[s] = true
		}
	default:
		return "字段定义无效"
	}
	return ""
}

func (f CategoryField) offers(key string) bool {
	for _, o := range f.Options {
		if o.Key == key {
			return true
		}
	}
	return false
}

func isNumber(v any) bool {
	switch n := v.(type) {
	case float64:
		return !math.IsNaN(n) && !math.IsInf(n, 0)
	case float32:
		return !math.IsNaN(float64(n)) && !math.IsInf(float64(n), 0)
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return true
	case json.Number:
		_, err := n.Float64()
		return err == nil
	}
	return false
}

func asStrings(v any) ([]string, bool) {
	switch l := v.(type) {
	case []string:
		return l, true
	case []any:
		out := make([]string, len(l))
		for i, e := range l {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out[i] = s
		}
		return out, true
	}
	return nil, false
}
