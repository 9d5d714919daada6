-- GET with the signed cookies the bench obtained (COOKIE from the environment).
wrk.headers["Cookie"] = os.getenv("COOKIE")
