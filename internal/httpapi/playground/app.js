// Starts GraphiQL with the configuration the server wrote into the page. It is a file of its
// own, not an inline script, so the page's Content-Security-Policy can allow scripts from
// 'self' only.
(function () {
  'use strict';
  var config = JSON.parse(document.getElementById('playground-config').textContent);

  // GraphiQL's dialogs insert a <style> element (react-remove-scroll) carrying this nonce, which
  // the page's CSP allows.
  window.__webpack_nonce__ = config.styleNonce;

  // GraphiQL keeps tabs in localStorage; the server's prefix changes with the examples and the
  // headers, so new examples (or a new --dev key) replace tabs saved from an older page.
  function prefixedStorage(prefix) {
    function ownKeys() {
      var keys = [];
      for (var i = 0; i < localStorage.length; i++) {
        var k = localStorage.key(i);
        if (k !== null && k.indexOf(prefix) === 0) keys.push(k);
      }
      return keys;
    }
    return {
      getItem: function (k) { return localStorage.getItem(prefix + k); },
      setItem: function (k, v) { localStorage.setItem(prefix + k, v); },
      removeItem: function (k) { localStorage.removeItem(prefix + k); },
      clear: function () { ownKeys().forEach(function (k) { localStorage.removeItem(k); }); },
      key: function (i) { var k = ownKeys()[i]; return k === undefined ? null : k.slice(prefix.length); },
      get length() { return ownKeys().length; }
    };
  }

  // One API key for every tab. It lives in the key field above GraphiQL (in memory only: a real
  // key is never written to disk) and goes out as the Authorization header of every request,
  // the schema's introspection included, in place of a missing header or the placeholder. A
  // real key pasted into any tab's headers becomes the shared key, so it reaches the others.
  var input = document.getElementById('api-key');
  var apiKey = config.apiKey || '';
  input.value = apiKey;

  function bearer(auth) {
    var m = /^\s*Bearer\s+(\S+)\s*$/i.exec(auth || '');
    return m ? m[1] : '';
  }

  var fetchGraphQL = GraphiQL.createFetcher({ url: location.origin + config.endpoint });
  function fetcherFor(key) {
    return function (params, opts) {
      var headers = Object.assign({}, opts && opts.headers);
      var name = Object.keys(headers).filter(function (h) { return h.toLowerCase() === 'authorization'; })[0];
      var own = name ? headers[name] : '';
      if (own && own !== config.placeholder && bearer(own) && bearer(own) !== key) {
        setKey(bearer(own)); // re-renders with the new key; this request already carries it
      } else {
        if (name) delete headers[name];
        if (key) headers.Authorization = 'Bearer ' + key;
      }
      var result = fetchGraphQL(params, Object.assign({}, opts, { headers: headers }));
      // GraphiQL shows the error of any schema fetch that fails, even one overtaken by a later
      // fetch with a new key; the answer to an old key's fetch is therefore never delivered.
      if (params.operationName === 'IntrospectionQuery' && result && typeof result.then === 'function') {
        return result.then(function (r) { return key === apiKey ? r : new Promise(function () {}); });
      }
      return result;
    };
  }

  function setKey(key) {
    key = key.trim();
    if (key === apiKey) return;
    apiKey = key;
    if (input.value.trim() !== key) input.value = key;
    render();
  }
  // Typing a key by hand would otherwise fetch the schema once per keystroke.
  var typing;
  input.addEventListener('input', function () {
    clearTimeout(typing);
    typing = setTimeout(function () { setKey(input.value); }, 300);
  });

  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  // Re-rendering keeps the tabs and their contents; only the fetcher changes, and with it GraphiQL
  // fetches the schema again. Without a key there is no schema to fetch (schema: null): asking
  // would only get a 401, whose error GraphiQL kept showing after a key arrived (seen in Chromium).
  function render() {
    root.render(React.createElement(GraphiQL, {
      fetcher: fetcherFor(apiKey),
      schema: apiKey ? undefined : null,
      defaultTabs: config.tabs,
      defaultHeaders: config.headers,
      defaultEditorToolsVisibility: 'headers',
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: config.persistHeaders,
      storage: prefixedStorage(config.storagePrefix),
      inputValueDeprecation: true
    }));
  }
  render();
})();
