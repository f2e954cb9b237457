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

  // GraphiQL introspects the schema before its headers editor exists and then sends no headers
  // at all, which /query answers with 401; send the page's headers (the --dev key) instead.
  var fetchGraphQL = GraphiQL.createFetcher({ url: location.origin + config.endpoint });
  function fetcher(params, opts) {
    if (!opts || !opts.headers) {
      opts = Object.assign({}, opts, { headers: JSON.parse(config.headers) });
    }
    return fetchGraphQL(params, opts);
  }

  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(React.createElement(GraphiQL, {
    fetcher: fetcher,
    defaultTabs: config.tabs,
    defaultHeaders: config.headers,
    defaultEditorToolsVisibility: 'headers',
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: config.persistHeaders,
    storage: prefixedStorage(config.storagePrefix),
    inputValueDeprecation: true
  }));
})();
