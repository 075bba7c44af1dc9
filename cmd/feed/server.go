package main

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/sigil-auth/sigil/verify"
)

// maxBodySize bounds request bodies, as on the authority.
const maxBodySize = 64 << 10

// A post is one entry of the feed.
type post struct {
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	Content   string    `json:"content"`
	AuthorID  string    `json:"authorId"`
	CreatedAt time.Time `json:"createdAt"`
}

// server holds the feed in memory and serves it over HTTP.
type server struct {
	mu    sync.Mutex
	posts []post // oldest first
}

// newServer returns the feed API. Every route requires a valid access
// token, checked by v.
func newServer(v *verify.Verifier) http.Handler {
	s := &server{}
	mux := http.NewServeMux()
	mux.Handle("GET /feed/posts", v.Middleware(http.HandlerFunc(s.listPosts)))
	mux.Handle("POST /feed/post", v.Middleware(http.HandlerFunc(s.createPost)))
	mux.Handle("DELETE /feed/post/{id}", v.Middleware(http.HandlerFunc(s.deletePost)))
	return mux
}

func (s *server) listPosts(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	posts := make([]post, len(s.posts))
	copy(posts, s.posts)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string][]post{"posts": posts})
}

func (s *server) createPost(w http.ResponseWriter, r *http.Request) {
	claims, _ := verify.ClaimsFromContext(r.Context())
	var in struct {
		Title   string `json:"title"`
		Content string `json:"content"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodySize)).Decode(&in); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			writeProblem(w, http.StatusRequestEntityTooLarge, "Request body too large", "The body may be at most 64 KiB.")
			return
		}
		writeProblem(w, http.StatusBadRequest, "Malformed request body", "The body must be a JSON object with title and content.")
		return
	}
	if strings.TrimSpace(in.Title) == "" {
		writeProblem(w, http.StatusUnprocessableEntity, "Invalid post", "The title must not be empty.")
		return
	}
	p := post{
		ID:        rand.Text(),
		Title:     in.Title,
		Content:   in.Content,
		AuthorID:  claims.Subject,
		CreatedAt: time.Now().UTC(),
	}
	s.mu.Lock()
	s.posts = append(s.posts, p)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, p)
}

// deletePost removes a post. Only its author or an administrator may.
func (s *server) deletePost(w http.ResponseWriter, r *http.Request) {
	claims, _ := verify.ClaimsFromContext(r.Context())
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, p := range s.posts {
		if p.ID != id {
			continue
		}
		if p.AuthorID != claims.Subject && !claims.HasRole("admin") {
			writeProblem(w, http.StatusForbidden, "Forbidden", "Only the author of a post or an administrator may delete it.")
			return
		}
		s.posts = append(s.posts[:i], s.posts[i+1:]...)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeProblem(w, http.StatusNotFound, "Post not found", "No post has this id.")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeProblem answers with an RFC 9457 problem document.
func writeProblem(w http.ResponseWriter, status int, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Type   string `json:"type"`
		Title  string `json:"title"`
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}{"about:blank", title, status, detail})
}
