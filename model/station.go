package model

import (
	"fmt"
	"time"
)

// Station levels of the tree.
const (
	LevelCity    = 1 // 社工总站, the city general station
	LevelStreet  = 2 // 乡镇(街道)社工站, a township or street station
	LevelVillage = 3 // 村(居)社工点, a village or community point
)

// Coordinate limits: Redis GEO accepts latitudes within ±85.05112878.
const (
	MaxLat = 85.05112878
	MaxLng = 180
)

// Point is a location in GCJ-02 degrees.
type Point struct{ Lat, Lng float64 }

// Valid reports whether the point can be stored and searched.
func (p Point) Valid() bool {
	return p.Lat >= -MaxLat && p.Lat <= MaxLat && p.Lng >= -MaxLng && p.Lng <= MaxLng
}

// PositiveZero turns a -0 coordinate into 0: a DOUBLE column reads back 0,
// so a create's reply says what every later read (and a replay rebuilt from
// the row) says.
func PositiveZero(f float64) float64 {
	if f == 0 {
		return 0
	}
	return f
}

// Check returns invalid_argument naming lat and/or lng when out of range.
func (p Point) Check() error {
	fe := FieldErrors{}
	if !(p.Lat >= -MaxLat && p.Lat <= MaxLat) {
		fe.Add("lat", "纬度超出范围")
	}
	if !(p.Lng >= -MaxLng && p.Lng <= MaxLng) {
		fe.Add("lng", "经度超出范围")
	}
	return fe.Err()
}

// CheckPlace is Check for a location that is stored or proves presence (a
// request, a station, an organization, an activity, a check-in): it also
// refuses (0, 0), which a phone without a fix or an unfilled form sends.
// Errors: invalid_argument (lat, lng).
func (p Point) CheckPlace() error {
	if err := p.Check(); err != nil {
		return err
	}
	if p.Lat == 0 && p.Lng == 0 {
		fe := FieldErrors{}
		fe.Add("lat", "未获取到位置（0, 0），请重新定位或在地图上选点")
		fe.Add("lng", "未获取到位置（0, 0），请重新定位或在地图上选点")
		return fe.Err()
	}
	return nil
}

// StationRef names a station in other objects (a request's station).
type StationRef struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Level int    `json:"level"`
}

// OrgRef names an organization in other objects.
type OrgRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Candidate is a station the matcher proposes, with its distance from the
// request and its score (distance plus load penalty, metres; lower is better).
type Candidate struct {
	Station   StationRef
	DistanceM float64
	Score     float64
}

// MatchResult is the matcher's answer: candidate stations best first, ending
// with the parent chain up to the city station, and nearby organizations.
type MatchResult struct {
	Stations []Candidate
	Orgs     []OrgRef
	// Category is the matched category as the matcher's catalogue knows it
	// (empty when the matcher does not report it).
	Category Category
}

// OpeningPeriod is one opening interval on a weekday (1 = Monday … 7 =
// Sunday), "HH:MM" local time, Opens before Closes.
type OpeningPeriod struct {
	Weekday int    `json:"weekday"`
	Opens   string `json:"opens"`
	Closes  string `json:"closes"`
}

// minutes parses "HH:MM" into minutes after midnight; ok is false when malformed.
func minutes(hhmm string) (int, bool) {
	if len(hhmm) != 5 || hhmm[2] != ':' {
		return 0, false
	}
	for _, i := range [4]int{0, 1, 3, 4} {
		if hhmm[i] < '0' || hhmm[i] > '9' {
			return 0, false
		}
	}
	h := int(hhmm[0]-'0')*10 + int(hhmm[1]-'0')
	m := int(hhmm[3]-'0')*10 + int(hhmm[4]-'0')
	if h > 24 || m > 59 || (h == 24 && m != 0) {
		return 0, false
	}
	return h*60 + m, true
}

// CheckOpeningHours validates periods; problems name opening_hours[i].
func CheckOpeningHours(periods []OpeningPeriod) error {
	fe := FieldErrors{}
	if len(periods) > 28 {
		fe.Add("opening_hours", "最多 28 个时段")
	}
	for i, p := range periods {
		field := fmt.Sprintf("opening_hours[%d]", i)
		o, ok1 := minutes(p.Opens)
		c, ok2 := minutes(p.Closes)
		switch {
		case p.Weekday < 1 || p.Weekday > 7:
			fe.Add(field, "weekday 必须是 1–7（周一至周日）")
		case !ok1 || !ok2:
			fe.Add(field, "时间格式应为 HH:MM")
		case o >= c:
			fe.Add(field, "开始时间必须早于结束时间")
		}
	}
	return fe.Err()
}

// OpenAt reports whether the periods include t (read in t's zone).
func OpenAt(periods []OpeningPeriod, t time.Time) bool {
	wd := int(t.Weekday())
	if wd == 0 {
		wd = 7
	}
	m := t.Hour()*60 + t.Minute()
	for _, p := range periods {
		if p.Weekday != wd {
			continue
		}
		o, ok1 := minutes(p.Opens)
		c, ok2 := minutes(p.Closes)
		if ok1 && ok2 && m >= o && m < c {
			return true
		}
	}
	return false
}

// Station is a node of the station tree.
type Station struct {
	ID       int64   `json:"id"`
	Name     string  `json:"name"`
	Level    int     `json:"level"`
	ParentID *int64  `json:"parent_id"`
	Lat      float64 `json:"lat"`
	Lng      float64 `json:"lng"`
	Address  string  `json:"address"`
	// Phone is the station's public service line.
	Phone         string          `json:"phone"`
	RadiusM       int             `json:"radius_m"`
	Categories    []string        `json:"categories"`
	OpeningHours  []OpeningPeriod `json:"opening_hours"`
	DailyCapacity int             `json:"daily_capacity"`
	// Closed is the admin-set temporary closure (暂停服务); the matcher skips it.
	Closed       bool   `json:"closed"`
	ClosedReason string `json:"closed_reason"`
	// OpenNow is computed for replies: not closed and within opening hours.
	OpenNow bool `json:"open_now"`
	// DistanceM is set in nearby searches only.
	DistanceM *float64 `json:"distance_m,omitempty"`
}

// Ref returns the station's reference.
func (s Station) Ref() StationRef { return StationRef{ID: s.ID, Name: s.Name, Level: s.Level} }

// Parent returns the parent id, 0 for the city station.
func (s Station) Parent() int64 {
	if s.ParentID == nil {
		return 0
	}
	return *s.ParentID
}

// Organization is a social organization (社会组织).
type Organization struct {
	ID          int64   `json:"id"`
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Address     string  `json:"address"`
	Lat         float64 `json:"lat"`
	Lng         float64 `json:"lng"`
	// ContactPhone is the organization's public service line.
	ContactPhone string   `json:"contact_phone"`
	Categories   []string `json:"categories"`
	Active       bool     `json:"active"`
	// MemberCount is the number of users holding a role in the organization.
	MemberCount int `json:"member_count"`
	// DistanceM is set in nearby searches only.
	DistanceM *float64 `json:"distance_m,omitempty"`
}

// Ref returns the organization's reference.
func (o Organization) Ref() OrgRef { return OrgRef{ID: o.ID, Name: o.Name} }

// GeoHit is a member of a GEO set found by a radius search.
type GeoHit struct {
	ID        int64
	DistanceM float64
}

// GeoQuery asks GeoProbe for one radius search of the station or the
// organization GEO set; Count 0 skips the search.
type GeoQuery struct {
	RadiusM float64
	Count   int
}

// GeoProbe is what one Redis round trip of the public nearby search reads:
// the version of the station/organization/catalogue data, whether each GEO
// set exists, and the nearest members of each set (distance ascending).
type GeoProbe struct {
	Version      string
	StationsSet  bool
	OrgsSet      bool
	Stations     []GeoHit
	Orgs         []GeoHit
	StationsFull bool // the station search returned Count members: more may lie within the radius
	OrgsFull     bool
}
