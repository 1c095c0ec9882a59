package main

import (
	"context"
	"fmt"
	"log/slog"

	"jindalai/config"
	"jindalai/model"
	"jindalai/service"
	"jindalai/store"
)

// The demo city of DESIGN.md "Demo geography": Yanji (延吉市), GCJ-02
// coordinates, approximate.

type demoField = model.CategoryField

func choice(name, label string, required bool, order int, multi bool, opts ...string) demoField {
	t := model.FieldSingleValue
	if multi {
		t = model.FieldMultiValue
	}
	f := demoField{Name: name, Label: label, Type: t, Required: required, Order: order}
	for i := 0; i+1 < len(opts); i += 2 {
		f.Options = append(f.Options, model.FieldOption{Key: opts[i], Name: opts[i+1]})
	}
	return f
}

var demoCategories = []model.Category{
	{Code: "low_income_consult", Name: "低保咨询", Area: model.AreaSocialAssistance, Description: "最低生活保障政策咨询与申请指导",
		Fields: []demoField{{Name: "household_size", Label: "家庭人口数", Type: model.FieldNumber, Order: 1},
			choice("status", "目前状况", false, 2, false, "none", "未申请", "applying", "申请中", "receiving", "已享受")}},
	{Code: "temporary_aid", Name: "临时救助", Area: model.AreaSocialAssistance, Description: "遭遇突发困难的家庭临时救助申请",
		Fields: []demoField{{Name: "reason", Label: "困难原因", Type: model.FieldText, Required: true, Order: 1}}},
	{Code: "poverty_visit", Name: "困难家庭走访", Area: model.AreaSocialAssistance, Description: "特困、低保家庭定期走访"},
	{Code: "home_visit", Name: "上门探访", Area: model.AreaElderCare, Description: "独居、空巢老人上门探访",
		Fields: []demoField{{Name: "visit_time", Label: "希望探访时间", Type: model.FieldDatetime, Order: 1},
			choice("living_alone", "是否独居", false, 2, false, "yes", "是", "no", "否")}},
	{Code: "meal_assist", Name: "助餐服务", Area: model.AreaElderCare, Description: "老年人助餐、送餐",
		Fields: []demoField{choice("meals", "餐次", true, 1, true, "breakfast", "早餐", "lunch", "午餐", "dinner", "晚餐")}},
	{Code: "elder_daycare", Name: "日间照料", Area: model.AreaElderCare, Description: "社区日间照料中心服务"},
	{Code: "elder_companion", Name: "精神慰藉", Area: model.AreaElderCare, Description: "陪伴聊天、心理疏导"},
	{Code: "left_behind_child", Name: "留守儿童关爱", Area: model.AreaChildWelfare, Description: "留守、单亲、特困儿童关爱帮扶",
		Fields: []demoField{{Name: "child_age", Label: "儿童年龄", Type: model.FieldNumber, Order: 1}}},
	{Code: "child_tutoring", Name: "课业辅导", Area: model.AreaChildWelfare, Description: "校社共建课后辅导"},
	{Code: "child_protection", Name: "困境儿童保护", Area: model.AreaChildWelfare, Description: "困境儿童发现、报告与保护"},
	{Code: "dispute_mediation", Name: "邻里纠纷调解", Area: model.AreaCommunityGovernance, Description: "邻里、家庭矛盾调解"},
	{Code: "community_activity", Name: "社区活动", Area: model.AreaCommunityGovernance, Description: "社区文体、议事活动"},
	{Code: "volunteer_match", Name: "志愿服务对接", Area: model.AreaCommunityGovernance, Description: "志愿者与服务需求对接"},
	{Code: "counselling", Name: "心理咨询", Area: model.AreaSocialAffairs, Description: "个体与家庭心理咨询",
		Fields: []demoField{choice("topic", "咨询主题", false, 1, false, "family", "家庭关系", "stress", "压力情绪", "child", "亲子教育", "other", "其他"),
			{Name: "preferred_time", Label: "希望时间", Type: model.FieldDatetime, Order: 2}}},
	{Code: "disability_support", Name: "残疾人服务", Area: model.AreaSocialAffairs, Description: "残疾人康复、就业与补贴咨询"},
	{Code: "veteran_service", Name: "退役军人服务", Area: model.AreaSocialAffairs, Description: "“老兵之家”退役军人关爱服务"},
	{Code: "marriage_family", Name: "婚姻家庭辅导", Area: model.AreaSocialAffairs, Description: "“幸福之家”婚姻家庭辅导"},
}

type demoStation struct {
	name, parent, address string
	level                 int
	lat, lng              float64
	radiusM               int
	categories            []string
}

var (
	streetCore = []string{"low_income_consult", "temporary_aid", "poverty_visit", "home_visit", "elder_companion",
		"dispute_mediation", "community_activity", "volunteer_match", "counselling"}
	pointCore = []string{"home_visit", "community_activity"}
)

func with(base []string, extra ...string) []string {
	return append(append([]string{}, base...), extra...)
}

var demoStations = []demoStation{
	{name: "延吉市社工总站", address: "延吉市民政局（光明街）", level: 1, lat: 42.905, lng: 129.509, radiusM: 60000},

	{name: "进学街道社工站", parent: "延吉市社工总站", address: "延吉市进学街道", level: 2, lat: 42.906, lng: 129.497, radiusM: 3500,
		categories: with(streetCore, "veteran_service", "marriage_family", "meal_assist")},
	{name: "北山街道社工站", parent: "延吉市社工总站", address: "延吉市北山街道", level: 2, lat: 42.917, lng: 129.505, radiusM: 3500,
		categories: with(streetCore, "left_behind_child", "child_protection", "child_tutoring")},
	{name: "新兴街道社工站", parent: "延吉市社工总站", address: "延吉市新兴街道", level: 2, lat: 42.897, lng: 129.521, radiusM: 3500,
		categories: with(streetCore, "elder_daycare", "meal_assist", "disability_support")},
	{name: "公园街道社工站", parent: "延吉市社工总站", address: "延吉市公园街道", level: 2, lat: 42.903, lng: 129.513, radiusM: 3500,
		categories: with(streetCore, "child_tutoring", "left_behind_child")},
	{name: "建工街道社工站", parent: "延吉市社工总站", address: "延吉市建工街道", level: 2, lat: 42.888, lng: 129.492, radiusM: 3500,
		categories: with(streetCore, "elder_daycare", "disability_support")},
	{name: "河南街道社工站", parent: "延吉市社工总站", address: "延吉市河南街道", level: 2, lat: 42.882, lng: 129.513, radiusM: 3500,
		categories: with(streetCore, "meal_assist", "marriage_family")},
	{name: "依兰镇社工站", parent: "延吉市社工总站", address: "延吉市依兰镇", level: 2, lat: 43.018, lng: 129.565, radiusM: 15000,
		categories: with(streetCore, "left_behind_child", "meal_assist")},
	{name: "三道湾镇社工站", parent: "延吉市社工总站", address: "延吉市三道湾镇", level: 2, lat: 43.010, lng: 129.700, radiusM: 15000,
		categories: with(streetCore, "left_behind_child")},
	{name: "小营镇社工站", parent: "延吉市社工总站", address: "延吉市小营镇", level: 2, lat: 42.840, lng: 129.440, radiusM: 12000,
		categories: with(streetCore, "left_behind_child", "elder_daycare")},
	{name: "朝阳川镇社工站", parent: "延吉市社工总站", address: "延吉市朝阳川镇", level: 2, lat: 42.870, lng: 129.370, radiusM: 12000,
		categories: with(streetCore, "left_behind_child", "veteran_service")},

	{name: "北山街道丹英社区社工点", parent: "北山街道社工站", address: "北山街道丹英社区", level: 3, lat: 42.921, lng: 129.500, radiusM: 1500,
		categories: with(pointCore, "left_behind_child", "elder_companion")},
	{name: "北山街道长白社区社工点", parent: "北山街道社工站", address: "北山街道长白社区", level: 3, lat: 42.914, lng: 129.509, radiusM: 1500,
		categories: with(pointCore, "child_tutoring")},
	{name: "进学街道民昌社区社工点", parent: "进学街道社工站", address: "进学街道民昌社区", level: 3, lat: 42.909, lng: 129.491, radiusM: 1500,
		categories: with(pointCore, "veteran_service")},
	{name: "公园街道园辉社区社工点", parent: "公园街道社工站", address: "公园街道园辉社区", level: 3, lat: 42.900, lng: 129.517, radiusM: 1500,
		categories: with(pointCore, "child_tutoring")},
	{name: "新兴街道繁荣社区社工点", parent: "新兴街道社工站", address: "新兴街道繁荣社区", level: 3, lat: 42.894, lng: 129.527, radiusM: 1500,
		categories: with(pointCore, "meal_assist")},
	{name: "建工街道延新社区社工点", parent: "建工街道社工站", address: "建工街道延新社区", level: 3, lat: 42.885, lng: 129.487, radiusM: 1500,
		categories: with(pointCore, "elder_daycare")},
	{name: "河南街道站前社区社工点", parent: "河南街道社工站", address: "河南街道站前社区", level: 3, lat: 42.878, lng: 129.518, radiusM: 1500,
		categories: with(pointCore, "meal_assist")},
	{name: "依兰镇九龙村社工点", parent: "依兰镇社工站", address: "依兰镇九龙村", level: 3, lat: 43.045, lng: 129.585, radiusM: 4000,
		categories: []string{"home_visit", "low_income_consult", "left_behind_child"}},
	{name: "依兰镇利民村社工点", parent: "依兰镇社工站", address: "依兰镇利民村", level: 3, lat: 43.000, lng: 129.610, radiusM: 4000,
		categories: []string{"home_visit", "low_income_consult"}},
	{name: "三道湾镇东沟村社工点", parent: "三道湾镇社工站", address: "三道湾镇东沟村", level: 3, lat: 43.030, lng: 129.730, radiusM: 4000,
		categories: []string{"home_visit", "left_behind_child"}},
}

type demoOrg struct {
	name, description, address string
	lat, lng                   float64
	categories                 []string
}

var demoOrgs = []demoOrg{
	{"延吉市老年人协会", "组织志愿者开展独居老人探访与陪伴", "延吉市公园路", 42.904, 129.511, []string{"home_visit", "elder_companion", "elder_daycare"}},
	{"延吉市医学会", "医护志愿者上门健康服务、康复指导", "延吉市局子街", 42.907, 129.515, []string{"home_visit", "disability_support", "counselling"}},
	{"延吉市心理咨询师协会", "心理咨询与婚姻家庭辅导", "延吉市进学街", 42.908, 129.499, []string{"counselling", "marriage_family"}},
	{"延吉市青少年服务中心", "留守儿童关爱、课后辅导", "延吉市北山街", 42.916, 129.502, []string{"left_behind_child", "child_tutoring", "child_protection"}},
	{"延吉市慈善总会", "困难家庭救助与走访", "延吉市光明街", 42.902, 129.506, []string{"temporary_aid", "poverty_visit", "low_income_consult"}},
	{"延吉市红十字会", "应急救助与助残服务", "延吉市新兴街", 42.898, 129.519, []string{"temporary_aid", "disability_support"}},
	{"延吉市助残志愿者协会", "残疾人康复陪护与就业帮扶", "延吉市建工街", 42.889, 129.495, []string{"disability_support", "home_visit"}},
	{"延吉市退役军人志愿服务队", "“老兵之家”志愿服务", "延吉市进学街", 42.905, 129.494, []string{"veteran_service", "community_activity"}},
	{"延吉市社区调解志愿者协会", "邻里纠纷与家庭矛盾调解", "延吉市河南街", 42.883, 129.511, []string{"dispute_mediation", "community_activity"}},
	{"延吉市巾帼志愿者协会", "妇女儿童权益与家庭辅导", "延吉市公园街", 42.901, 129.514, []string{"marriage_family", "child_protection", "left_behind_child"}},
	{"延吉市爱心助餐协会", "老年助餐、送餐上门", "延吉市新兴街", 42.895, 129.524, []string{"meal_assist", "home_visit"}},
	{"延边大学青年志愿者协会", "大学生志愿者课业辅导与社区服务", "延吉市公园路延边大学", 42.910, 129.517, []string{"child_tutoring", "volunteer_match", "community_activity"}},
	{"延吉市社会工作者协会", "社工督导与志愿服务对接", "延吉市光明街", 42.906, 129.508, []string{"volunteer_match", "counselling", "poverty_visit"}},
	{"依兰镇乡村振兴志愿服务队", "村民低保政策宣讲与困难户走访", "依兰镇", 43.020, 129.570, []string{"low_income_consult", "poverty_visit", "home_visit"}},
}

func demoHours(level int) []model.OpeningPeriod {
	var out []model.OpeningPeriod
	for d := 1; d <= 5; d++ {
		if level == model.LevelVillage {
			out = append(out, model.OpeningPeriod{Weekday: d, Opens: "08:30", Closes: "11:30"},
				model.OpeningPeriod{Weekday: d, Opens: "13:30", Closes: "17:00"})
			continue
		}
		out = append(out, model.OpeningPeriod{Weekday: d, Opens: "08:30", Closes: "17:00"})
	}
	if level == model.LevelStreet {
		out = append(out, model.OpeningPeriod{Weekday: 6, Opens: "09:00", Closes: "12:00"})
	}
	return out
}

// seedCity loads the demo catalogue, stations and organizations through the
// stations service (so they are validated and indexed). It creates only
// what is missing, by code or name: a second run changes nothing.
func seedCity(ctx context.Context, st *store.Store, cfg config.Config, log *slog.Logger) error {
	svc := service.NewStations(st, st, service.MatchConfig{SearchRadiiM: cfg.Dispatch.SearchRadiiM,
		LoadPenaltyM: cfg.Dispatch.LoadPenaltyM, MaxOrgs: cfg.Dispatch.MaxOrgs}, cfg.Location(), log)
	admin := model.Principal{Roles: []model.Role{{Role: model.RoleCityAdmin}}}
	created := 0

	for i, c := range demoCategories {
		if _, err := st.GetCategory(ctx, c.Code); err == nil {
			continue
		} else if !model.IsCode(err, model.CodeNotFound) {
			return err
		}
		name, area, desc, fields, order := c.Name, c.Area, c.Description, c.Fields, i
		if fields == nil {
			fields = []demoField{}
		}
		if _, err := svc.CreateCategory(ctx, admin, nil, service.CategoryInput{Code: c.Code, Name: &name, Area: &area,
			Description: &desc, Fields: &fields, SortOrder: &order}); err != nil {
			return fmt.Errorf("seed category %s: %w", c.Code, err)
		}
		created++
	}
	all := make([]string, len(demoCategories))
	for i, c := range demoCategories {
		all[i] = c.Code
	}

	existing, err := st.ListStations(ctx)
	if err != nil {
		return err
	}
	ids := map[string]int64{}
	for _, s := range existing {
		ids[s.Name] = s.ID
	}
	for _, d := range demoStations {
		if _, ok := ids[d.name]; ok {
			continue
		}
		in := demoStationInput(d, ids, all)
		out, err := svc.CreateStation(ctx, admin, nil, in)
		if err != nil {
			return fmt.Errorf("seed station %s: %w", d.name, err)
		}
		ids[d.name] = out.ID
		created++
	}

	orgs, err := st.ListOrganizations(ctx)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, o := range orgs {
		have[o.Name] = true
	}
	for i, d := range demoOrgs {
		if have[d.name] {
			continue
		}
		phone := fmt.Sprintf("0433-28%05d", 10001+i)
		if _, err := svc.CreateOrganization(ctx, admin, nil, service.OrgInput{Name: &d.name, Description: &d.description,
			Address: &d.address, ContactPhone: &phone, Lat: &d.lat, Lng: &d.lng, Categories: &d.categories}); err != nil {
			return fmt.Errorf("seed organization %s: %w", d.name, err)
		}
		created++
	}
	if err := svc.Reconcile(ctx); err != nil {
		return err
	}
	log.Info("seed: demo city loaded", "created", created, "categories", len(demoCategories),
		"stations", len(demoStations), "organizations", len(demoOrgs))
	return nil
}

func demoStationInput(d demoStation, ids map[string]int64, all []string) service.StationInput {
	d.categories = append([]string{}, d.categories...)
	if d.level == model.LevelCity {
		d.categories = all
	}
	level, radius, hours := d.level, d.radiusM, demoHours(d.level)
	capacity := map[int]int{model.LevelCity: 100, model.LevelStreet: 40, model.LevelVillage: 15}[d.level]
	phone := fmt.Sprintf("0433-25%05d", 10000+len(ids))
	in := service.StationInput{Name: &d.name, Level: &level, Lat: &d.lat, Lng: &d.lng, Address: &d.address,
		Phone: &phone, RadiusM: &radius, Categories: &d.categories, OpeningHours: &hours, DailyCapacity: &capacity}
	if d.parent != "" {
		parent := ids[d.parent]
		in.ParentID = &parent
	}
	return in
}
