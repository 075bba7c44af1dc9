module github.com/sigil-auth/sigil/deploy

go 1.26
