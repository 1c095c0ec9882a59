package service

import (
	"context"
	"encoding/base64"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"jindalai/model"
)

// nearbyCandidates caps the activities read from one bounding box; the
// nearest are chosen among the soonest this many.
const nearbyCandidates = 500

// activitiesMaxRadiusM caps the radius of the list near a location: wider
// than the stations' 50 km, since volunteers travel to an activity.
const activitiesMaxRadiusM = 100000

// ActivityQuery asks for a list of activities.
type ActivityQuery struct {
	// Near, when set, lists activities within RadiusM of it, nearest first.
	Near *model.Point
	// RadiusM 0 means the configured default.
	RadiusM  int
	Category string
	// From, when set, keeps activities starting at or after it; otherwise
	// every activity that has not ended is listed.
	From time.Time
	Page model.Page
}

// ListActivities lists published activities that have not ended, with their
// remaining places. Near a location: those within the radius, nearest first
// (distance_m set), paged by position. Otherwise: by start time.
// A category filter is a service area or a category in use, as on create.
// Errors: invalid_argument (lat, lng, radius_m, category, cursor), unavailable, internal.
func (s *Activities) ListActivities(ctx context.Context, q ActivityQuery) (model.List[model.Activity], error) {
	fe := model.FieldErrors{}
	if err := checkNear(fe, q.Near, q.RadiusM, activitiesMaxRadiusM); err != nil {
		return model.List[model.Activity]{}, err
	}
	if q.Category != "" && !model.ValidCategoryCode(q.Category) {
		fe.Add("category", "必须是服务类别代码")
	}
	if err := fe.Err(); err != nil {
		return model.List[model.Activity]{}, err
	}
	if q.Category != "" {
		if err := s.checkCategory(ctx, q.Category); err != nil {
			return model.List[model.Activity]{}, err
		}
	}
	now := s.now()
	f := model.ActivityFilter{
		Category:    q.Category,
		EndsAfter:   now,
		StartsFrom:  q.From,
		StartsAfter: now.Add(-s.cfg.MaxDuration),
		Limit:       q.Page.Limit + 1,
	}
	if q.Near == nil {
		return s.listByTime(ctx, f, q.Page)
	}
	return s.listNear(ctx, f, *q.Near, q.RadiusM, q.Page)
}

func (s *Activities) listByTime(ctx context.Context, f model.ActivityFilter, page model.Page) (model.List[model.Activity], error) {
	var err error
	if f.AfterStart, f.AfterID, err = decodeTimeCursor(page.Cursor); err != nil {
		return model.List[model.Activity]{}, err
	}
	items, err := s.store.ListActivities(ctx, f)
	if err != nil {
		return model.List[model.Activity]{}, err
	}
	out := model.List[model.Activity]{Items: items}
	if len(items) > page.Limit {
		last := items[page.Limit-1]
		out.Items, out.NextCursor = items[:page.Limit], encodeTimeCursor(last.StartsAt, last.ID)
	}
	return out, nil
}

func (s *Activities) listNear(ctx context.Context, f model.ActivityFilter, at model.Point, radius int, page model.Page) (model.List[model.Activity], error) {
	offset, err := model.DecodeCursor(page.Cursor)
	if err != nil {
		return model.List[model.Activity]{}, err
	}
	if radius == 0 {
		radius = s.cfg.NearbyRadiusM
	}
	box := boundingBox(at, float64(radius))
	f.Box, f.Limit = &box, nearbyCandidates
	candidates, err := s.store.ListActivities(ctx, f)
	if err != nil {
		return model.List[model.Activity]{}, err
	}
	near := candidates[:0]
	for _, a := range candidates {
		d := int(math.Round(distanceM(at, model.Point{Lat: a.Lat, Lng: a.Lng})))
		if d <= radius {
			a.DistanceM = &d
			near = append(near, a)
		}
	}
	sort.SliceStable(near, func(i, j int) bool { return *near[i].DistanceM < *near[j].DistanceM })
	out := model.List[model.Activity]{Items: []model.Activity{}}
	if int(offset) >= len(near) {
		return out, nil
	}
	end := min(int(offset)+page.Limit, len(near))
	out.Items = near[offset:end]
	if end < len(near) {
		out.NextCursor = model.EncodeCursor(int64(end))
	}
	return out, nil
}

// boundingBox is a rectangle holding every point within radius metres of c.
func boundingBox(c model.Point, radius float64) model.BoundingBox {
	dLat := radius / metresPerDegLat
	cos := math.Cos(c.Lat * math.Pi / 180)
	dLng := 180.0
	if cos > 1e-6 {
		dLng = math.Min(180, dLat/cos)
	}
	return model.BoundingBox{MinLat: c.Lat - dLat, MaxLat: c.Lat + dLat, MinLng: c.Lng - dLng, MaxLng: c.Lng + dLng}
}

// encodeTimeCursor makes the cursor of the list by start time.
func encodeTimeCursor(t time.Time, id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(t.UnixMilli(), 10) + "." + strconv.FormatInt(id, 10)))
}

// decodeTimeCursor reads encodeTimeCursor's cursor; "" is the first page.
// Errors: invalid_argument (cursor).
func decodeTimeCursor(cursor string) (time.Time, int64, error) {
	if cursor == "" {
		return time.Time{}, 0, nil
	}
	bad := model.InvalidField("cursor", "无效的游标")
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return time.Time{}, 0, bad
	}
	ms, id, ok := strings.Cut(string(raw), ".")
	t, err1 := strconv.ParseInt(ms, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if !ok || err1 != nil || err2 != nil || n <= 0 {
		return time.Time{}, 0, bad
	}
	at := time.UnixMilli(t)
	if model.CheckTime("cursor", at) != nil {
		return time.Time{}, 0, bad
	}
	return at, n, nil
}
