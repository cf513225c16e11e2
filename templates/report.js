/* glmreport report: copy buttons and table-of-contents highlighting. No network access. */
(function () {
  "use strict";
  document.querySelectorAll("button.copy").forEach(function (button) {
    button.addEventListener("click", function (event) {
      event.preventDefault();
      var target = document.getElementById(button.getAttribute("data-copy"));
      if (!target) { return; }
      var text = target.innerText;
      var done = function () {
        var label = button.textContent;
        button.textContent = "Copied";
        setTimeout(function () { button.textContent = label; }, 1200);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () {});
      } else {
        var range = document.createRange();
        range.selectNodeContents(target);
        var selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        try { document.execCommand("copy"); done(); } catch (e) { /* text stays selected */ }
      }
    });
  });

  var links = {};
  document.querySelectorAll("nav.toc a[href^='#']").forEach(function (a) {
    links[a.getAttribute("href").slice(1)] = a;
  });
  if (!("IntersectionObserver" in window)) { return; }
  var current = null;
  var observer = new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      if (!entry.isIntersecting) { return; }
      var link = links[entry.target.id];
      if (!link) { return; }
      if (current) { current.classList.remove("active"); }
      link.classList.add("active");
      current = link;
      if (link.scrollIntoView && link.getBoundingClientRect) {
        var box = link.getBoundingClientRect();
        if (box.top < 0 || box.bottom > window.innerHeight) { link.scrollIntoView({block: "nearest"}); }
      }
    });
  }, {rootMargin: "0px 0px -75% 0px"});
  Object.keys(links).forEach(function (id) {
    var section = document.getElementById(id);
    if (section) { observer.observe(section); }
  });
})();
