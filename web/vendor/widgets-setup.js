// Loaded before require.js and the ipywidgets embed script on pages that have
// widgets (see nb_ipywidgets_js in _config.yml). Two adjustments let the
// embed script, built for the notebook, work on this offline site.

// 1. The embed script defines AMD modules named "@jupyter-widgets/..." (the
//    html manager in ".../html-manager/dist/libembed-amd", the controls, the
//    base widgets), and each loads its icon fonts (the Play widget's buttons,
//    for one) from the folder its name maps to. Without these mappings
//    require.js resolves the names against the page's own folder, where the
//    fonts are not.
var require = {
  paths: {
    "@jupyter-widgets/html-manager/dist": new URL("html-manager", document.currentScript.src).href,
    "@jupyter-widgets": new URL("html-manager", document.currentScript.src).href,
  },
};

// 2. ipywidgets typesets widget labels with the MathJax 2 API,
//    MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]); the site runs
//    MathJax 3, which has no Hub, so every label threw a TypeError. Give each
//    object assigned to window.MathJax (the page's config object first, then
//    MathJax 3 itself when it starts) a Hub that forwards to typesetPromise.
(function () {
  const hub = {
    Queue(command) {
      const mathjax = window.MathJax;
      if (mathjax && mathjax.startup && mathjax.startup.promise) {
        mathjax.startup.promise.then(() => mathjax.typesetPromise([command[2]]));
      }
    },
  };
  let current = window.MathJax;
  if (current && !current.Hub) current.Hub = hub;
  Object.defineProperty(window, "MathJax", {
    configurable: true,
    get() {
      return current;
    },
    set(value) {
      current = value;
      if (value && !value.Hub) value.Hub = hub;
    },
  });
})();
