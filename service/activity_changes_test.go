package service

import (
	"testing"
	"time"

	"jindalai/model"
)

func TestChangedNoteTexts(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	s := &Activities{loc: shanghai}
	start := time.Date(2024, 5, 1, 1, 0, 0, 0, time.UTC) // 09:00 in Shanghai
	before := model.Activity{ID: 7, Title: "助老", Address: "社工站", Lat: 42.9, Lng: 129.5,
		StartsAt: start, EndsAt: start.Add(2 * time.Hour)}

	cases := []struct {
		name  string
		edit  func(*model.Activity)
		title string
		body  string
		note  string
	}{
		{"nothing relevant", func(a *model.Activity) { a.Description, a.Capacity = "新", 9 }, "", "", ""},
		{"seconds only", func(a *model.Activity) { a.StartsAt = a.StartsAt.Add(20 * time.Second) }, "", "", ""},
		{"end past midnight", func(a *model.Activity) { a.EndsAt = a.EndsAt.Add(15 * time.Hour) },
			"活动时间有变",
			"你报名的活动「助老」时间有变：时间由 2024-05-01 09:00 至 11:00 改为 2024-05-01 09:00 至 2024-05-02 02:00。如不能参加，请及时取消报名。",
			"时间改为 2024-05-01 09:00 至 2024-05-02 02:00"},
		{"coordinates only", func(a *model.Activity) { a.Lng += 0.01 },
			"活动地点有变",
			"你报名的活动「助老」地点有变：地址仍为 社工站，地图位置已调整。如不能参加，请及时取消报名。",
			"地图位置已调整"},
		{"both", func(a *model.Activity) {
			a.StartsAt, a.EndsAt, a.Address = a.StartsAt.Add(time.Hour), a.EndsAt.Add(time.Hour), "广场"
		},
			"活动时间和地点有变",
			"你报名的活动「助老」时间和地点有变：时间由 2024-05-01 09:00 至 11:00 改为 2024-05-01 10:00 至 12:00；地点由 社工站 改为 广场。如不能参加，请及时取消报名。",
			"时间改为 2024-05-01 10:00 至 12:00；地点改为 广场"},
	}
	for _, c := range cases {
		after := before
		c.edit(&after)
		build := s.changedNote(before, after)
		if c.title == "" {
			if build != nil {
				t.Errorf("%s: notifies %+v", c.name, build(1))
			}
			continue
		}
		if build == nil {
			t.Errorf("%s: notifies nobody", c.name)
			continue
		}
		n := build(42)
		if n.UserID != 42 || n.Kind != "activity_changed" || n.Title != c.title || n.Body != c.body || n.Data["note"] != c.note ||
			n.Data["time"] != after.StartsAt.In(shanghai).Format("2006-01-02 15:04") || n.Data["place"] != after.Address ||
			n.Data["title"] != "助老" || n.Page != "pages/activity/detail?id=7" || n.RefType != "activity" || n.RefID != 7 {
			t.Errorf("%s: %+v", c.name, n)
		}
	}
}
