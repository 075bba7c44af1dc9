// The tutorial's feed API: posts kept in memory, each owned by the user who
// wrote it. Only the verification of the caller changes when moving to
// Sigil; these handlers read the verified claims from req.auth.
import express from 'express';

export function feedRouter() {
  const posts = [];
  let next = 1;
  const r = express.Router();

  r.get('/posts', (req, res) => {
    res.json({ posts, viewer: { userId: req.auth.sub, email: req.auth.email } });
  });

  r.post('/post', express.json(), (req, res) => {
    const { title, content } = req.body ?? {};
    if (typeof title !== 'string' || title.trim() === '' || typeof content !== 'string') {
      return res.status(422).json({ message: 'title and content are required' });
    }
    const post = { id: String(next++), title, content, creator: req.auth.sub, createdAt: new Date().toISOString() };
    posts.push(post);
    res.status(201).json({ post });
  });

  // Deleting is for the post's creator or an administrator of Sigil
  // (the "admin" role in the token): anyone else gets 403.
  r.delete('/post/:id', (req, res) => {
    const i = posts.findIndex((p) => p.id === req.params.id);
    if (i < 0) return res.status(404).json({ message: 'no such post' });
    const roles = Array.isArray(req.auth.roles) ? req.auth.roles : [];
    if (posts[i].creator !== req.auth.sub && !roles.includes('admin')) {
      res.set('WWW-Authenticate', 'Bearer error="insufficient_scope"');
      return res.status(403).json({ message: 'not your post' });
    }
    posts.splice(i, 1);
    res.status(204).end();
  });
  return r;
}
