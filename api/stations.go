package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"jindalai/model"
	"jindalai/service"
)

// stationsRoutes registers the routes of the station tree, organizations
// and the service catalogue. Reads are public; changes are for city admins.
func (s *Server) stationsRoutes(v1 *gin.RouterGroup) {
	v1.GET("/categories", s.listCategories)
	v1.GET("/stations", s.listStations)
	v1.GET("/stations/:id", s.getStation)
	v1.GET("/organizations", s.listOrganizations)
	v1.GET("/organizations/:id", s.getOrganization)

	admin := v1.Group("/admin", s.authenticate, s.requireRole())
	admin.POST("/stations", s.createStation)
	admin.PATCH("/stations/:id", s.updateStation)
	admin.POST("/organizations", s.createOrganization)
	admin.PATCH("/organizations/:id", s.updateOrganization)
	admin.POST("/categories", s.createCategory)
	admin.PATCH("/categories/:code", s.updateCategory)
}

func (s *Server) listCategories(c *gin.Context) {
	items, err := s.Stations.Categories(c.Request.Context(), c.Query("area"))
	s.respond(c, http.StatusOK, model.List[model.Category]{Items: items}, err)
}

func (s *Server) listStations(c *gin.Context) {
	near, radius, err := nearQuery(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	page, err := pageOf(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	level, _, err := queryInt(c, "level")
	if err != nil || level < 0 || level > 3 {
		s.fail(c, model.InvalidField("level", "必须是 1、2 或 3"))
		return
	}
	parent, _, err := queryInt(c, "parent_id")
	if err != nil || parent < 0 {
		s.fail(c, model.InvalidField("parent_id", "必须是正整数"))
		return
	}
	out, err := s.Stations.Stations(c.Request.Context(), service.StationQuery{
		Near: near, RadiusM: radius, Category: c.Query("category"), Level: int(level), ParentID: parent, Page: page})
	s.respond(c, http.StatusOK, out, err)
}

func (s *Server) getStation(c *gin.Context) {
	id, ok := s.pathID(c, "id")
	if !ok {
		return
	}
	out, err := s.Stations.Station(c.Request.Context(), id)
	s.respond(c, http.StatusOK, out, err)
}

func (s *Server) listOrganizations(c *gin.Context) {
	near, radius, err := nearQuery(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	page, err := pageOf(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	out, err := s.Stations.Organizations(c.Request.Context(), service.OrgQuery{
		Near: near, RadiusM: radius, Category: c.Query("category"), Page: page})
	s.respond(c, http.StatusOK, out, err)
}

func (s *Server) getOrganization(c *gin.Context) {
	id, ok := s.pathID(c, "id")
	if !ok {
		return
	}
	out, err := s.Stations.Organization(c.Request.Context(), id)
	s.respond(c, http.StatusOK, out, err)
}

type stationBody struct {
	Name          *string                `json:"name"`
	Level         *int                   `json:"level"`
	ParentID      *int64                 `json:"parent_id"`
	Lat           *float64               `json:"lat"`
	Lng           *float64               `json:"lng"`
	Address       *string                `json:"address"`
	Phone         *string                `json:"phone"`
	RadiusM       *int                   `json:"radius_m"`
	Categories    *[]string              `json:"categories"`
	OpeningHours  *[]model.OpeningPeriod `json:"opening_hours"`
	DailyCapacity *int                   `json:"daily_capacity"`
	Closed        *bool                  `json:"closed"`
	ClosedReason  *string                `json:"closed_reason"`
}

func (b stationBody) input() service.StationInput {
	return service.StationInput{Name: b.Name, Level: b.Level, ParentID: b.ParentID, Lat: b.Lat, Lng: b.Lng,
		Address: b.Address, Phone: b.Phone, RadiusM: b.RadiusM, Categories: b.Categories, OpeningHours: b.OpeningHours,
		DailyCapacity: b.DailyCapacity, Closed: b.Closed, ClosedReason: b.ClosedReason}
}

func (s *Server) createStation(c *gin.Context) {
	var in stationBody
	if !s.bindJSON(c, &in) {
		return
	}
	p, idem, ok := s.callerKey(c, "admin.stations.create", in)
	if !ok {
		return
	}
	out, err := s.Stations.CreateStation(c.Request.Context(), p, idem, in.input())
	s.respond(c, http.StatusCreated, out, err)
}

func (s *Server) updateStation(c *gin.Context) {
	id, ok := s.pathID(c, "id")
	if !ok {
		return
	}
	var in stationBody
	if !s.bindJSON(c, &in) {
		return
	}
	out, err := s.Stations.UpdateStation(c.Request.Context(), principal(c), id, in.input())
	s.respond(c, http.StatusOK, out, err)
}

type orgBody struct {
	Name         *string   `json:"name"`
	Description  *string   `json:"description"`
	Address      *string   `json:"address"`
	ContactPhone *string   `json:"contact_phone"`
	Lat          *float64  `json:"lat"`
	Lng          *float64  `json:"lng"`
	Categories   *[]string `json:"categories"`
	Active       *bool     `json:"active"`
}

func (b orgBody) input() service.OrgInput {
	return service.OrgInput{Name: b.Name, Description: b.Description, Address: b.Address, ContactPhone: b.ContactPhone,
		Lat: b.Lat, Lng: b.Lng, Categories: b.Categories, Active: b.Active}
}

func (s *Server) createOrganization(c *gin.Context) {
	var in orgBody
	if !s.bindJSON(c, &in) {
		return
	}
	p, idem, ok := s.callerKey(c, "admin.organizations.create", in)
	if !ok {
		return
	}
	out, err := s.Stations.CreateOrganization(c.Request.Context(), p, idem, in.input())
	s.respond(c, http.StatusCreated, out, err)
}

func (s *Server) updateOrganization(c *gin.Context) {
	id, ok := s.pathID(c, "id")
	if !ok {
		return
	}
	var in orgBody
	if !s.bindJSON(c, &in) {
		return
	}
	out, err := s.Stations.UpdateOrganization(c.Request.Context(), principal(c), id, in.input())
	s.respond(c, http.StatusOK, out, err)
}

type categoryBody struct {
	Code        *string                `json:"code"`
	Name        *string                `json:"name"`
	Area        *string                `json:"area"`
	Description *string                `json:"description"`
	Fields      *[]model.CategoryField `json:"fields"`
	SortOrder   *int                   `json:"sort_order"`
	Active      *bool                  `json:"active"`
}

func (b categoryBody) input(code string) service.CategoryInput {
	return service.CategoryInput{Code: code, Name: b.Name, Area: b.Area, Description: b.Description, Fields: b.Fields,
		SortOrder: b.SortOrder, Active: b.Active}
}

func (s *Server) createCategory(c *gin.Context) {
	var in categoryBody
	if !s.bindJSON(c, &in) {
		return
	}
	if in.Code == nil {
		s.fail(c, model.InvalidField("code", "必填"))
		return
	}
	p, idem, ok := s.callerKey(c, "admin.categories.create", in)
	if !ok {
		return
	}
	out, err := s.Stations.CreateCategory(c.Request.Context(), p, idem, in.input(*in.Code))
	s.respond(c, http.StatusCreated, out, err)
}

func (s *Server) updateCategory(c *gin.Context) {
	var in categoryBody
	if !s.bindJSON(c, &in) {
		return
	}
	if in.Code != nil && *in.Code != c.Param("code") {
		s.fail(c, model.InvalidField("code", "服务类别编码不能修改"))
		return
	}
	out, err := s.Stations.UpdateCategory(c.Request.Context(), principal(c), c.Param("code"), in.input(c.Param("code")))
	s.respond(c, http.StatusOK, out, err)
}
