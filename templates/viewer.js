/* glmreport slice viewer: three orthogonal slices of a contrast's z map over the anatomy.
   Offline and self-contained: each [data-viewer] reads its JSON payload (made by
   glmreport/report/viewer.py) from a <script type="application/json"> child; no network,
   no eval, no inline handlers. Needs DecompressionStream (Chromium 80+, Firefox 113+,
   Safari 16.4+); otherwise, and without JavaScript, the viewer shows a short note. */
(function () {
  "use strict";
  var FORMAT = "glmreport-viewer/1";
  // The colour ramps and crosshair of the report's figures (glmreport/figures.py).
  var POSITIVE_COLORS = ["#7f0000", "#d7301f", "#fc8d59", "#fdd94d"];
  var NEGATIVE_COLORS = ["#08306b", "#2166ac", "#4393c3", "#8fd3f0"];
  var CROSS = "#1b9e77";
  var MARK = "#59636e";
  var MINUS = "\u2212";
  var MAX_HEIGHT = 340;  // CSS pixels of the tallest slice
  var GAP = 12;  // CSS pixels between slices
  // Neurological orientation, as the figures: the subject's left on the left.
  var VIEWS = [
    {name: "sagittal", fixed: 0, h: 1, v: 2, marks: ["P", "A"]},
    {name: "coronal", fixed: 1, h: 0, v: 2, marks: ["L", "R"]},
    {name: "axial", fixed: 2, h: 0, v: 1, marks: ["L", "R"]}
  ];

  function ramp(stops) {
    var rgb = stops.map(function (hex) {
      return [1, 3, 5].map(function (k) { return parseInt(hex.slice(k, k + 2), 16) / 255; });
    });
    var segments = rgb.length - 1;
    var out = new Uint8Array(256 * 3);
    for (var i = 0; i < 256; i++) {
      var t = i / 255 * segments;
      var s = Math.min(Math.floor(t), segments - 1);
      var f = t - s;
      for (var c = 0; c < 3; c++) {
        out[3 * i + c] = Math.round((rgb[s][c] + (rgb[s + 1][c] - rgb[s][c]) * f) * 255);
      }
    }
    return out;
  }
  var POS_LUT = ramp(POSITIVE_COLORS);
  var NEG_LUT = ramp(NEGATIVE_COLORS);

  // ------------------------------------------------------------------ decoding

  function base64Bytes(text) {
    var binary = atob(text);
    var out = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) { out[i] = binary.charCodeAt(i); }
    return out;
  }

  function inflate(bytes) {
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    return new Response(stream).arrayBuffer().then(function (buffer) {
      return new Uint8Array(buffer);
    });
  }

  // Running sums along z, y and x: the inverse of the "delta3" filter (modulo 2^bits).
  function undoDelta(a, shape) {
    var nx = shape[0], ny = shape[1], nz = shape[2], plane = ny * nz, i, j, k, b;
    for (b = 0; b < nx * ny * nz; b += nz) {
      for (k = 1; k < nz; k++) { a[b + k] += a[b + k - 1]; }
    }
    for (i = 0; i < nx; i++) {
      for (j = 1; j < ny; j++) {
        b = i * plane + j * nz;
        for (k = 0; k < nz; k++) { a[b + k] += a[b + k - nz]; }
      }
    }
    for (i = 1; i < nx; i++) {
      b = i * plane;
      for (k = 0; k < plane; k++) { a[b + k] += a[b + k - plane]; }
    }
    return a;
  }

  function unpack(spec, raw, shape) {
    var n = shape[0] * shape[1] * shape[2], out, i;
    var size = {bits: Math.ceil(n / 8), uint8: n, uint16: 2 * n, int16: 2 * n}[spec.dtype];
    if (size === undefined || raw.length !== size) {
      throw new Error("viewer data: unexpected " + spec.dtype + " array of " + raw.length + " bytes");
    }
    if (spec.dtype === "bits") {
      out = new Uint8Array(n);
      for (i = 0; i < n; i++) { out[i] = (raw[i >> 3] >> (7 - (i & 7))) & 1; }
      return out;
    }
    if (spec.dtype === "uint8") {
      out = raw;
    } else {
      out = spec.dtype === "int16" ? new Int16Array(n) : new Uint16Array(n);
      for (i = 0; i < n; i++) { out[i] = raw[2 * i] | (raw[2 * i + 1] << 8); }
    }
    return spec.filter === "delta3" ? undoDelta(out, shape) : out;
  }

  function decode(spec, shape) {
    return inflate(base64Bytes(spec.data)).then(function (raw) { return unpack(spec, raw, shape); });
  }

  function readJson(element) {
    var data = JSON.parse(element.textContent);
    if (!data || data.format !== FORMAT) {
      throw new Error("viewer data: expected format " + FORMAT);
    }
    return data;
  }

  var bases = {};  // id of a shared base -> promise of its decoded volumes

  function decodeBase(base) {
    var shape = base.shape;
    var atlases = base.atlases || [];
    return Promise.all([decode(base.background, shape)].concat(
      atlases.map(function (a) { return decode(a, shape); })
    )).then(function (arrays) {
      return {
        shape: shape,
        affine: base.affine,
        space: base.space,
        background: arrays[0],
        atlases: atlases.map(function (a, i) {
          return {name: a.name, names: a.names || {}, codes: arrays[i + 1]};
        })
      };
    });
  }

  function loadBase(payload) {
    if (typeof payload.base !== "string") { return decodeBase(payload); }
    if (!bases[payload.base]) {
      var element = document.getElementById(payload.base);
      if (!element) { return Promise.reject(new Error("viewer data: no base " + payload.base)); }
      bases[payload.base] = decodeBase(readJson(element));
    }
    return bases[payload.base];
  }

  function load(payload) {
    return loadBase(payload).then(function (base) {
      var specs = [payload.z].concat(payload.maps.map(function (m) { return m.mask; }));
      return Promise.all(specs.map(function (spec) {
        return spec ? decode(spec, base.shape) : Promise.resolve(null);
      })).then(function (arrays) {
        return {
          base: base,
          z: arrays[0],
          missing: payload.z.missing,
          scale: payload.z.scale,
          vmax: payload.vmax,
          maps: payload.maps.map(function (m, i) {
            return {name: m.name, kind: m.kind, threshold: m.threshold, mask: arrays[i + 1]};
          })
        };
      });
    });
  }

  // ------------------------------------------------------------------ formatting

  function signed(text, negative) { return (negative ? MINUS : "") + text; }

  // As the report's tables: whole mm when whole, else one decimal; true minus sign.
  function formatCoord(value) {
    var v = Math.round(value * 10) / 10;
    if (v === 0) { return "0"; }
    var a = Math.abs(v);
    return signed(a === Math.round(a) ? a.toFixed(0) : a.toFixed(1), v < 0);
  }

  // A stored hundredth -> "3.14", exactly (no floating-point rounding).
  function formatHundredths(q) {
    var a = Math.abs(q);
    var frac = String(a % 100);
    return signed(Math.floor(a / 100) + "." + (frac.length < 2 ? "0" + frac : frac), q < 0);
  }

  function formatThreshold(value) { return value.toFixed(2); }

  // ------------------------------------------------------------------ the viewer

  function Viewer(root, data) {
    var self = this;
    this.root = root;
    this.data = data;
    this.shape = data.base.shape;
    this.affine = data.base.affine;
    this.voxel = [0, 1, 2].map(function (a) { return Math.abs(self.affine[a][a]); });
    this.map = 0;
    this.thresholds = data.maps.map(function (m) { return m.threshold === null ? 0 : m.threshold; });
    this.peaks = {};
    this.select = root.querySelector("[data-viewer-map]");
    this.range = root.querySelector("input[type=range][data-viewer-threshold]");
    this.number = root.querySelector("input[type=number][data-viewer-threshold]");
    this.readout = root.querySelector("[data-viewer-readout]");
    this.views = VIEWS.map(function (view) {
      var canvas = root.querySelector("canvas[data-viewer-view=" + view.name + "]");
      var w = self.shape[view.h], h = self.shape[view.v];
      var slice = document.createElement("canvas");
      slice.width = w;
      slice.height = h;
      var overlay = document.createElement("canvas");
      overlay.width = w;
      overlay.height = h;
      return {
        def: view, canvas: canvas, slice: slice, overlay: overlay, w: w, h: h,
        caption: root.querySelector("[data-viewer-caption=" + view.name + "]")
      };
    });
    this.cursor = this.peak(0) || this.shape.map(function (n) { return Math.floor(n / 2); });
    this.bind();
    this.layout();
    this.syncThreshold();
    this.update();
  }

  Viewer.prototype.index = function (ijk) {
    return (ijk[0] * this.shape[1] + ijk[1]) * this.shape[2] + ijk[2];
  };

  Viewer.prototype.world = function (ijk) {
    var a = this.affine;
    return [0, 1, 2].map(function (r) {
      return a[r][0] * ijk[0] + a[r][1] * ijk[1] + a[r][2] * ijk[2] + a[r][3];
    });
  };

  // The voxel of largest |z| in map m (all values, or the correction's survivors).
  Viewer.prototype.peak = function (m) {
    if (!(m in this.peaks)) {
      var z = this.data.z, mask = this.data.maps[m].mask, missing = this.data.missing;
      var best = -1, where = -1;
      for (var i = 0; i < z.length; i++) {
        if (z[i] === missing || (mask && !mask[i])) { continue; }
        var a = Math.abs(z[i]);
        if (a > best) { best = a; where = i; }
      }
      var nyz = this.shape[1] * this.shape[2];
      this.peaks[m] = where < 0 ? null : [
        Math.floor(where / nyz), Math.floor(where / this.shape[2]) % this.shape[1],
        where % this.shape[2]
      ];
    }
    return this.peaks[m] ? this.peaks[m].slice() : null;
  };

  Viewer.prototype.bind = function () {
    var self = this;
    this.views.forEach(function (view) {
      var canvas = view.canvas;
      var pick = function (event) {
        var box = canvas.getBoundingClientRect();
        var col = Math.floor((event.clientX - box.left) / box.width * view.w);
        var row = Math.floor((event.clientY - box.top) / box.height * view.h);
        var cursor = self.cursor.slice();
        cursor[view.def.h] = col;
        cursor[view.def.v] = view.h - 1 - row;
        self.moveTo(cursor);
      };
      canvas.addEventListener("pointerdown", function (event) {
        if (event.button !== 0) { return; }
        canvas.focus();
        if (canvas.setPointerCapture) { canvas.setPointerCapture(event.pointerId); }
        pick(event);
        event.preventDefault();
      });
      canvas.addEventListener("pointermove", function (event) {
        if (event.buttons & 1) { pick(event); }
      });
      canvas.addEventListener("keydown", function (event) {
        var step = {ArrowLeft: [view.def.h, -1], ArrowRight: [view.def.h, 1],
          ArrowUp: [view.def.v, 1], ArrowDown: [view.def.v, -1],
          PageUp: [view.def.fixed, 1], PageDown: [view.def.fixed, -1]}[event.key];
        if (!step) { return; }
        var cursor = self.cursor.slice();
        cursor[step[0]] += step[1];
        self.moveTo(cursor);
        event.preventDefault();
      });
    });
    this.select.addEventListener("change", function () {
      self.map = Number(self.select.value) || 0;
      self.syncThreshold();
      self.update();
    });
    this.range.addEventListener("input", function () { self.setThreshold(self.range.value, true); });
    this.number.addEventListener("input", function () { self.setThreshold(self.number.value, false); });
    this.root.querySelector("[data-viewer-peak]").addEventListener("click", function () {
      var peak = self.peak(self.map);
      if (peak) { self.moveTo(peak); }
    });
    var pending = false;
    window.addEventListener("resize", function () {
      if (pending) { return; }
      pending = true;
      window.requestAnimationFrame(function () { pending = false; self.layout(); self.draw(); });
    });
  };

  Viewer.prototype.moveTo = function (cursor) {
    var shape = this.shape;
    this.cursor = cursor.map(function (v, a) { return Math.max(0, Math.min(shape[a] - 1, v)); });
    this.update();
  };

  Viewer.prototype.setThreshold = function (text, fromRange) {
    var value = parseFloat(text);
    if (!isFinite(value) || value < 0) { return; }
    this.thresholds[this.map] = value;
    if (fromRange) { this.number.value = formatThreshold(value); } else { this.range.value = value; }
    this.update();
  };

  Viewer.prototype.syncThreshold = function () {
    var value = this.thresholds[this.map];
    this.range.value = value;
    this.number.value = formatThreshold(value);
  };

  // CSS sizes: one mm scale for the three slices, fitted to the width available.
  Viewer.prototype.layout = function () {
    var self = this;
    var container = this.views[0].canvas.parentNode.parentNode;
    var width = Math.max(240, container.clientWidth - 2 * GAP);
    var mm = this.views.map(function (view) {
      return [view.w * self.voxel[view.def.h], view.h * self.voxel[view.def.v]];
    });
    var scale = Math.min(
      width / (mm[0][0] + mm[1][0] + mm[2][0]),
      MAX_HEIGHT / Math.max(mm[0][1], mm[1][1], mm[2][1])
    );
    var ratio = window.devicePixelRatio || 1;
    this.views.forEach(function (view, k) {
      var w = Math.round(mm[k][0] * scale), h = Math.round(mm[k][1] * scale);
      view.canvas.style.width = w + "px";
      view.canvas.style.height = h + "px";
      view.canvas.width = Math.round(w * ratio);
      view.canvas.height = Math.round(h * ratio);
      view.ratio = ratio;
    });
  };

  Viewer.prototype.update = function () {
    this.draw();
    this.colorbar();
    this.report();
  };

  Viewer.prototype.draw = function () {
    for (var k = 0; k < this.views.length; k++) { this.drawView(this.views[k]); }
  };

  Viewer.prototype.drawView = function (view) {
    var data = this.data, def = view.def, shape = this.shape;
    var map = data.maps[this.map];
    var low = this.thresholds[this.map];
    var high = Math.max(data.vmax, low + 1e-6);
    var floor = Math.round(low / data.scale);
    var bg = view.slice.getContext("2d"), ov = view.overlay.getContext("2d");
    var gray = bg.createImageData(view.w, view.h), color = ov.createImageData(view.w, view.h);
    var ijk = [0, 0, 0];
    ijk[def.fixed] = this.cursor[def.fixed];
    for (var row = 0; row < view.h; row++) {
      ijk[def.v] = view.h - 1 - row;
      for (var col = 0; col < view.w; col++) {
        ijk[def.h] = col;
        var i = (ijk[0] * shape[1] + ijk[1]) * shape[2] + ijk[2];
        var p = 4 * (row * view.w + col);
        var g = data.base.background[i];
        gray.data[p] = gray.data[p + 1] = gray.data[p + 2] = g;
        gray.data[p + 3] = 255;
        var q = data.z[i];
        if (q === data.missing || Math.abs(q) < floor || (map.mask && !map.mask[i])) { continue; }
        var frac = (Math.abs(q) * data.scale - low) / (high - low);
        var lut = q < 0 ? NEG_LUT : POS_LUT;
        var c = 3 * Math.max(0, Math.min(255, Math.round(frac * 255)));
        color.data[p] = lut[c];
        color.data[p + 1] = lut[c + 1];
        color.data[p + 2] = lut[c + 2];
        color.data[p + 3] = 255;
      }
    }
    bg.putImageData(gray, 0, 0);
    ov.putImageData(color, 0, 0);
    var canvas = view.canvas, ctx = canvas.getContext("2d");
    var W = canvas.width, H = canvas.height;
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, W, H);
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(view.slice, 0, 0, W, H);
    ctx.imageSmoothingEnabled = false;  // the map's voxels stay voxels
    ctx.drawImage(view.overlay, 0, 0, W, H);
    this.crosshair(view, ctx, W, H);
    this.marks(view, ctx, W);
  };

  // Crosshair lines that stop short of the voxel, so its colour stays visible.
  Viewer.prototype.crosshair = function (view, ctx, W, H) {
    var def = view.def, ratio = view.ratio;
    var x = (this.cursor[def.h] + 0.5) / view.w * W;
    var y = (view.h - 1 - this.cursor[def.v] + 0.5) / view.h * H;
    var gap = Math.max(1.5 * W / view.w, 6 * ratio);
    ctx.strokeStyle = CROSS;
    ctx.lineWidth = Math.max(1, Math.round(ratio));
    ctx.beginPath();
    ctx.moveTo(0, y); ctx.lineTo(x - gap, y);
    ctx.moveTo(x + gap, y); ctx.lineTo(W, y);
    ctx.moveTo(x, 0); ctx.lineTo(x, y - gap);
    ctx.moveTo(x, y + gap); ctx.lineTo(x, H);
    ctx.stroke();
  };

  Viewer.prototype.marks = function (view, ctx, W) {
    var ratio = view.ratio, pad = 5 * ratio;
    ctx.font = "600 " + Math.round(11 * ratio) + "px -apple-system, \"Segoe UI\", Arial, sans-serif";
    ctx.fillStyle = MARK;
    ctx.textBaseline = "top";
    ctx.textAlign = "left";
    ctx.fillText(view.def.marks[0], pad, pad);
    ctx.textAlign = "right";
    ctx.fillText(view.def.marks[1], W - pad, pad);
  };

  // The two ramps of the current scale: −vmax … −threshold | threshold … vmax.
  Viewer.prototype.colorbar = function () {
    var canvas = this.root.querySelector("[data-viewer-colorbar]");
    if (!canvas) { return; }
    var ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height, half = Math.floor(W / 2);
    var image = ctx.createImageData(W, H);
    for (var x = 0; x < W; x++) {
      var negative = x < half;
      var t = negative ? (half - 1 - x) / Math.max(1, half - 1) : (x - half) / Math.max(1, W - half - 1);
      var c = 3 * Math.round(t * 255), lut = negative ? NEG_LUT : POS_LUT;
      for (var y = 0; y < H; y++) {
        var p = 4 * (y * W + x);
        image.data[p] = lut[c];
        image.data[p + 1] = lut[c + 1];
        image.data[p + 2] = lut[c + 2];
        image.data[p + 3] = 255;
      }
    }
    ctx.putImageData(image, 0, 0);
    var low = this.thresholds[this.map], high = Math.max(this.data.vmax, low);
    var ticks = {
      low: MINUS + formatThreshold(high),
      mid: "\u00b1" + formatThreshold(low),
      high: formatThreshold(high)
    };
    var root = this.root;
    Object.keys(ticks).forEach(function (key) {
      var tick = root.querySelector("[data-viewer-tick=" + key + "]");
      if (tick) { tick.textContent = ticks[key]; }
    });
  };

  Viewer.prototype.report = function () {
    var data = this.data, cursor = this.cursor, i = this.index(cursor);
    var xyz = this.world(cursor).map(formatCoord);
    var q = data.z[i];
    var value;
    if (q === data.missing) {
      value = "z: no value";
    } else if (Math.abs(q) >= 32767) {
      value = "z " + (q > 0 ? "\u2265 " : "\u2264 ") + formatHundredths(q);
    } else {
      value = "z = " + formatHundredths(q);
    }
    var map = data.maps[this.map];
    var status = "";
    if (map.mask) { status = map.mask[i] ? "survives" : "does not survive"; }
    var labels = data.base.atlases.map(function (atlas) {
      var code = atlas.codes[i];
      return atlas.name + ": " + (code && atlas.names[code] ? atlas.names[code] : "\u2014");
    });
    var set = function (key, text) {
      var element = this.readout.querySelector("[data-viewer-" + key + "]");
      if (element) { element.textContent = text; element.hidden = !text; }
    }.bind(this);
    set("coords", "(x, y, z) = (" + xyz.join(", ") + ") mm");
    set("value", value);
    set("status", status);
    set("labels", labels.join(" \u00b7 "));
    var names = ["x", "y", "z"];
    this.views.forEach(function (view) {
      if (view.caption) {
        var name = view.def.name;
        view.caption.textContent = name.charAt(0).toUpperCase() + name.slice(1) + ", " +
          names[view.def.fixed] + " = " + xyz[view.def.fixed];
      }
    });
  };

  // ------------------------------------------------------------------ start

  function fail(root, message) {
    var note = root.querySelector("[data-viewer-note]");
    if (note) { note.textContent = message; note.hidden = false; }
    root.setAttribute("data-viewer-state", "failed");
  }

  function start(root) {
    if (typeof DecompressionStream === "undefined" || !window.Blob || !Blob.prototype.stream) {
      fail(root, "This browser cannot open the slice viewer's data (it needs a browser from " +
        "2023 or later); the figures show the same maps.");
      return;
    }
    var element = root.querySelector("script[data-viewer-payload]");
    var payload;
    try { payload = readJson(element); } catch (error) {
      fail(root, "The slice viewer's data could not be read.");
      console.error(error);
      return;
    }
    load(payload).then(function (data) {
      root.querySelectorAll("[data-viewer-ui]").forEach(function (ui) { ui.hidden = false; });
      root.querySelector("[data-viewer-note]").hidden = true;
      root.viewer = new Viewer(root, data);
      root.setAttribute("data-viewer-state", "ready");
    }).catch(function (error) {
      fail(root, "The slice viewer's data could not be read.");
      console.error(error);
    });
  }

  document.querySelectorAll("[data-viewer]").forEach(start);
})();
