// The docs pages of ironflow (server page and per-model page), with no external resources.
(function () {
  "use strict";
  var path = window.location.pathname;
  var at = path.indexOf("/v2/");
  // A `root_path` prefix (settings.json) comes before /v2/.
  var base = at >= 0 ? path.slice(0, at) : "";
  var route = at >= 0 ? path.slice(at) : path;
  var modelMatch = route.match(/^\/v2\/models\/([^/]+)\/docs\/?$/);
  var main = document.getElementById("main");

  // Builds an element; strings become text nodes (never markup).
  function el(tag, attrs) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    for (var i = 2; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined) { continue; }
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function request(method, url, body) {
    var options = { method: method, headers: { "accept": "application/json" } };
    if (body !== undefined) {
      options.body = body;
      options.headers["content-type"] = "application/json";
    }
    return fetch(base + url, options).then(function (response) {
      return response.text().then(function (text) {
        var parsed = text;
        try { parsed = text ? JSON.parse(text) : ""; } catch (e) { /* not JSON */ }
        return { status: response.status, ok: response.ok, body: parsed, text: text };
      });
    });
  }

  function table(headers, rows) {
    var head = el("tr", {});
    headers.forEach(function (h) { head.appendChild(el("th", {}, h)); });
    var t = el("table", {}, el("thead", {}, head));
    var body = el("tbody", {});
    rows.forEach(function (cells) {
      var tr = el("tr", {});
      cells.forEach(function (c) { tr.appendChild(el("td", {}, c)); });
      body.appendChild(tr);
    });
    t.appendChild(body);
    return t;
  }

  function tensorTable(id, tensors) {
    var rows = (tensors || []).map(function (t) {
      var ct = t.parameters && t.parameters.content_type ? t.parameters.content_type : "";
      return [el("code", { "class": "tensor-name" }, t.name), t.datatype, JSON.stringify(t.shape), ct];
    });
    var t = table(["name", "datatype", "shape", "content type"], rows);
    t.id = id;
    return t;
  }

  function failed(what, answer) {
    main.appendChild(el("p", { "class": "fail" }, what + ": HTTP " + answer.status + " " + answer.text));
  }

  function serverPage() {
    document.getElementById("subtitle").textContent = "Open Inference Protocol (KServe v2) REST API";
    main.textContent = "";
    request("GET", "/v2").then(function (meta) {
      if (meta.ok) {
        document.getElementById("title").textContent = meta.body.name + " " + meta.body.version;
      }
    });
    var models = el("section", { id: "models" }, el("h2", {}, "Models"));
    var endpoints = el("section", { id: "endpoints" }, el("h2", {}, "Endpoints"),
      el("p", { "class": "muted" }, "The OpenAPI 3 document: ",
        el("a", { href: base + "/v2/docs/dataplane.json" }, "dataplane.json")));
    main.appendChild(models);
    main.appendChild(endpoints);
    request("POST", "/v2/repository/index", "{}").then(function (index) {
      if (!index.ok) { failed("repository index", index); return; }
      var rows = index.body.map(function (m) {
        var link = el("a", { href: base + "/v2/models/" + encodeURIComponent(m.name) + "/docs" }, m.name);
        return [link, m.version || "", m.state, m.reason || ""];
      });
      models.appendChild(table(["model", "version", "state", "reason"], rows));
    });
    request("GET", "/v2/docs/dataplane.json").then(function (doc) {
      if (!doc.ok) { failed("dataplane.json", doc); return; }
      var rows = [];
      Object.keys(doc.body.paths || {}).forEach(function (p) {
        var item = doc.body.paths[p];
        Object.keys(item).forEach(function (method) {
          var op = item[method] || {};
          rows.push([el("span", { "class": "method " + method }, method), el("code", {}, p),
            op.summary || op.description || ""]);
        });
      });
      endpoints.appendChild(table(["method", "path", "what"], rows));
    });
  }

  function modelPage(name) {
    var enc = encodeURIComponent(name);
    document.title = name + " - ironflow";
    document.getElementById("title").textContent = name;
    document.getElementById("subtitle").textContent = "Model served over the Open Inference Protocol (KServe v2)";
    Promise.all([request("GET", "/v2/models/" + enc), request("GET", "/v2/models/" + enc + "/docs/example.json")])
      .then(function (answers) {
        var meta = answers[0], example = answers[1];
        main.textContent = "";
        if (!meta.ok) { failed("model metadata", meta); return; }
        var m = meta.body;
        var ct = m.parameters && m.parameters.content_type ? m.parameters.content_type : "";
        main.appendChild(el("p", {}, "Versions: " + ((m.versions || []).join(", ") || "none") +
          (m.platform ? ". Platform: " + m.platform : "") + (ct ? ". Request content type: " + ct : "") + ". ",
          el("a", { href: base + "/v2/docs" }, "All endpoints and models")));
        main.appendChild(el("h2", {}, "Inputs"));
        main.appendChild(tensorTable("inputs", m.inputs));
        main.appendChild(el("h2", {}, "Outputs"));
        main.appendChild(tensorTable("outputs", m.outputs));
        main.appendChild(el("h2", {}, "Try it"));
        var url = base + "/v2/models/" + enc + "/infer";
        main.appendChild(el("p", {}, el("span", { "class": "method post" }, "post"), " ", el("code", {}, url)));
        var body = example.ok ? JSON.stringify(example.body, null, 2) : "{\"inputs\": []}";
        var textarea = el("textarea", { id: "request", spellcheck: "false" });
        textarea.value = body;
        main.appendChild(textarea);
        var button = el("button", { id: "try", type: "button" }, "Try it");
        var status = el("p", { id: "status" });
        var answer = el("pre", { id: "answer" });
        main.appendChild(button);
        main.appendChild(status);
        main.appendChild(answer);
        main.appendChild(el("p", { "class": "muted" }, "The same with curl:"));
        main.appendChild(el("pre", { id: "curl" }, "curl -s -H 'content-type: application/json' -d @request.json " +
          window.location.origin + url));
        button.addEventListener("click", function () {
          status.textContent = "Sending...";
          status.className = "";
          answer.textContent = "";
          request("POST", "/v2/models/" + enc + "/infer", textarea.value).then(function (reply) {
            status.textContent = "HTTP " + reply.status + (reply.ok ? " OK" : " error");
            status.className = reply.ok ? "ok" : "fail";
            answer.setAttribute("data-status", String(reply.status));
            answer.textContent = typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body, null, 2);
          }, function (error) {
            status.textContent = "Request failed: " + error;
            status.className = "fail";
          });
        });
        // `?try` in the address sends the example at once.
        if (/[?&]try\b/.test(window.location.search)) { button.click(); }
      });
  }

  if (modelMatch) { modelPage(decodeURIComponent(modelMatch[1])); } else { serverPage(); }
})();
