-- One Iris row per request, as the article's client sends it.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"data": [[5.1, 3.5, 1.4, 0.2]]}'
