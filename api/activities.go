package api

import "github.com/gin-gonic/gin"

// activitiesRoutes registers the routes of volunteers, activities, claims, check-in and hours (issue 5).
func (s *Server) activitiesRoutes(v1 *gin.RouterGroup) {}
