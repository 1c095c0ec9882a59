package service

import (
	"strings"
	"time"

	"jindalai/model"
)

// changedNote compares an activity before and after an edit. When its time
// (start or end, to the minute as shown) or its place (address or
// coordinates) changed, it returns the builder of each live claimant's
// activity_changed notification; otherwise nil, and nobody is notified.
func (s *Activities) changedNote(before, after model.Activity) func(volunteerID int64) model.Notification {
	oldTime, newTime := s.timeRange(before.StartsAt, before.EndsAt), s.timeRange(after.StartsAt, after.EndsAt)
	timeChanged := oldTime != newTime
	addressChanged := before.Address != after.Address
	placeChanged := addressChanged || before.Lat != after.Lat || before.Lng != after.Lng
	if !timeChanged && !placeChanged {
		return nil
	}
	var title string
	var changes, notes []string
	if timeChanged {
		title = "活动时间有变"
		changes = append(changes, "时间由 "+oldTime+" 改为 "+newTime)
		notes = append(notes, "时间改为 "+newTime)
	}
	if placeChanged {
		title = "活动地点有变"
		if addressChanged {
			changes = append(changes, "地点由 "+before.Address+" 改为 "+after.Address)
			notes = append(notes, "地点改为 "+after.Address)
		} else {
			changes = append(changes, "地址仍为 "+after.Address+"，地图位置已调整")
			notes = append(notes, "地图位置已调整")
		}
	}
	if timeChanged && placeChanged {
		title = "活动时间和地点有变"
	}
	body := "你报名的活动「" + after.Title + "」" + strings.TrimPrefix(title, "活动") + "：" +
		strings.Join(changes, "；") + "。如不能参加，请及时取消报名。"
	note := strings.Join(notes, "；")
	return func(volunteerID int64) model.Notification {
		n := s.activityNote(after, volunteerID, "activity_changed", title, "已变更", body)
		n.Data["note"] = note
		return n
	}
}

// timeRange shows an activity's time in the configured zone, e.g.
// "2024-05-01 09:00 至 11:00" (the end's date only when it differs).
func (s *Activities) timeRange(start, end time.Time) string {
	from, to := s.timeText(start), s.timeText(end)
	if from[:len("2006-01-02")] == to[:len("2006-01-02")] {
		to = to[len("2006-01-02 "):]
	}
	return from + " 至 " + to
}
