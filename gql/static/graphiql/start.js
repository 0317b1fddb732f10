// Starts GraphiQL on #graphiql. A file, not an inline script, so that the page's
// Content-Security-Policy can refuse every inline script.
(function () {
  "use strict";
  var root = document.getElementById("graphiql");
  var headers = root.getAttribute("data-headers") || undefined;
  var fetcher = GraphiQL.createFetcher({ url: root.getAttribute("data-endpoint") });
  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      // The pre-filled headers (serve --demo's bearer token) win over a stored tab's,
      // open in the editor so that one sees which learner the queries run as.
      headers: headers,
      defaultHeaders: headers,
      defaultEditorToolsVisibility: headers ? "headers" : false,
      shouldPersistHeaders: false,
    })
  );
})();
