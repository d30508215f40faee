// spotfake web page: send each chosen image to POST /v1/detect and show its record.
// No framework and nothing from outside this server; text from the server is only ever set
// through textContent, never parsed as HTML.
"use strict";

(() => {
  const PARALLEL = 3; // requests in flight; the server batches them on the model
  const SVG_NS = "http://www.w3.org/2000/svg";
  const PLAIN_WORDS = {
    413: "This file is too large for this server.",
    415: "This is not an image format spotfake can read (JPEG, PNG, WebP, GIF, BMP, TIFF, AVIF).",
    422: "The file looks damaged or incomplete, so it could not be read.",
    503: "The server is busy. Try again in a moment.",
    504: "The server took too long. Try again, or check fewer images at once.",
    0: "Could not reach the spotfake server. Is it still running?",
  };
  const MARKS = {
    c2pa: "its C2PA manifest",
    xmp: "its XMP metadata",
    "png-text": "a generator's PNG text chunk",
    exif: "its EXIF metadata",
    watermark: "a Stable Diffusion watermark",
  };
  const STRENGTHS = { decisive: "Decisive", supporting: "Supporting", none: "Noted" };

  const input = document.getElementById("files");
  const drop = document.getElementById("drop");
  const results = document.getElementById("results");
  const status = document.getElementById("status");
  const empty = document.getElementById("empty");
  let limits = null;
  let reference = null;
  let counter = 0;

  function el(tag, options = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(options)) {
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) if (child != null) node.append(child);
    return node;
  }

  function svg(tag, attributes = {}) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
    return node;
  }

  function describeBytes(count) {
    if (count < 1024 * 1024) return `${Math.round(count / 1024)} KB`;
    return `${(count / 1024 / 1024).toFixed(1)} MB`;
  }

  function capitalise(text) {
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  // ---- the model and the limits ------------------------------------------------------------
  async function loadModel() {
    const box = document.getElementById("model");
    try {
      const response = await fetch("/v1/models");
      const body = await response.json();
      limits = body.limits;
      showLimits(limits);
      box.replaceChildren(...describeModel(body.models[0]));
    } catch (error) {
      box.replaceChildren(el("p", { class: "hint", text: "The model's description could not be loaded." }));
    }
  }

  function showLimits(found) {
    const hint = document.getElementById("limit-hint");
    hint.textContent = `, up to ${describeBytes(found.max_file_bytes)} and ` +
      `${Math.round(found.max_pixels / 1e6)} megapixels each`;
    if (found.keeps_uploads) {
      document.getElementById("storage-hint").textContent =
        "This server keeps a copy of every uploaded file.";
    }
  }

  function describeModel(model) {
    const facts = el("dl", { class: "facts" });
    addFact(facts, "Model", `${model.name} (${model.model_hash})`);
    addFact(facts, "Threshold", `${model.threshold.toFixed(2)}: a score at or above it is called generated`);
    const crop = model.spec.input && model.spec.input.crop;
    if (crop) addFact(facts, "Looks at", `the central ${crop} × ${crop} pixels, never resized`);
    addFact(facts, "Runs on", model.device);
    const parts = [facts];
    const card = model.card;
    if (!card) return parts;
    if (card.summary) parts.push(el("p", { text: card.summary }));
    if (card.known_failures.length) {
      const list = el("ul");
      for (const item of card.known_failures) {
        list.append(el("li", {}, el("strong", { text: `${item.title}. ` }), item.text));
      }
      parts.push(el("details", {}, el("summary", { text: "Known failures" }), list));
    }
    if (card.intended_use) {
      parts.push(el("details", {}, el("summary", { text: "Intended use" }), el("p", { text: card.intended_use })));
    }
    return parts;
  }

  function addFact(list, term, value) {
    if (value == null || value === "") return;
    list.append(el("dt", { text: term }), el("dd", { text: String(value) }));
  }

  async function loadReference() {
    if (!reference) {
      reference = fetch("/v1/reference-spectrum").then((r) => (r.ok ? r.json() : null)).catch(() => null);
    }
    return reference;
  }

  // ---- checking files ----------------------------------------------------------------------
  async function checkFiles(files) {
    if (!files.length) return;
    empty.hidden = true;
    const jobs = files.map((file) => ({ file, card: addCard(file) }));
    const tally = { generated: 0, real: 0, failed: 0 };
    const queue = jobs.slice();
    announce(`Checking ${files.length} image${files.length === 1 ? "" : "s"}…`);
    const worker = async () => {
      while (queue.length) {
        const job = queue.shift();
        tally[await checkOne(job)] += 1;
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, jobs.length) }, worker));
    const noun = files.length === 1 ? "image" : "images";
    announce(`Done: ${files.length} ${noun}, ${tally.generated} generated, ${tally.real} real, ${tally.failed} could not be checked.`);
  }

  function announce(text) {
    status.textContent = text;
  }

  function addCard(file) {
    counter += 1;
    const id = `result-${counter}`;
    const thumb = el("div", { class: "thumb" });
    if (file.type.startsWith("image/")) {
      const image = el("img", { alt: "" });
      image.addEventListener("error", () => image.remove());
      image.src = URL.createObjectURL(file);
      thumb.append(image);
    }
    const body = el("div", { class: "body" },
      el("h3", { id: `${id}-name`, class: "name", text: file.name }),
      el("p", { class: "verdict", "data-testid": "verdict" }, el("span", { class: "label", text: "Checking…" })));
    const card = el("li", { class: "result", id, "data-state": "pending", "aria-labelledby": `${id}-name` }, thumb, body);
    results.append(card);
    return card;
  }

  async function checkOne(job) {
    const { file, card } = job;
    if (limits && file.size > limits.max_file_bytes) {
      const limit = describeBytes(limits.max_file_bytes);
      showFailure(card, 413, `file too large (${describeBytes(file.size)}): the limit is ${limit} per file`);
      return "failed";
    }
    const form = new FormData();
    form.append("files", file, file.name);
    let response;
    let answer = null;
    try {
      response = await fetch("/v1/detect?details=true", { method: "POST", body: form });
      answer = await response.json().catch(() => null);
    } catch (error) {
      showFailure(card, 0, null);
      return "failed";
    }
    const record = answer && Array.isArray(answer.records) ? answer.records[0] : null;
    if (record && record.error == null && record.score != null) {
      await showVerdict(card, record);
      return record.label === "generated" ? "generated" : "real";
    }
    const detail = record ? record.error : answer && answer.detail;
    showFailure(card, record ? record.status : response.status, detail);
    return "failed";
  }

  // ---- showing a verdict -------------------------------------------------------------------
  async function showVerdict(card, record) {
    const body = card.querySelector(".body");
    const label = record.label;
    card.dataset.state = "done";
    card.dataset.label = label;
    const score = record.score;
    const verdict = body.querySelector(".verdict");
    const mark = decidingMark(record);
    verdict.replaceChildren(
      el("span", { class: "label", text: capitalise(label) }),
      ` · score ${score.toFixed(2)} (threshold ${record.threshold.toFixed(2)})` +
        (mark ? ` · decided by ${MARKS[mark.signal] || mark.signal}` : ""));
    body.append(scoreBar(score, record.threshold), explanation(record));
    const marks = provenance(record);
    if (marks) body.append(marks);
    body.append(await evidence(record));
    announce(`${record.path}: ${label}, score ${score.toFixed(2)}`);
  }

  function scoreBar(score, threshold) {
    const bar = el("div", {
      class: "bar",
      role: "img",
      "aria-label": `Score ${Math.round(score * 100)} out of 100; the threshold is at ${Math.round(threshold * 100)}`,
    });
    const fill = el("div", { class: "fill" });
    fill.style.width = `${Math.max(0, Math.min(1, score)) * 100}%`;
    const mark = el("div", { class: "mark", title: "threshold" });
    mark.style.left = `calc(${threshold * 100}% - 1px)`;
    bar.append(fill, mark);
    const scale = el("div", { class: "scale", "aria-hidden": "true" },
      el("span", { text: "0 real" }), el("span", { text: "generated 1" }));
    return el("div", {}, bar, scale);
  }

  function decidingMark(record) {
    const signal = (record.decided_by || "").startsWith("provenance:") ? record.decided_by.slice(11) : null;
    if (!signal) return null;
    const findings = (record.evidence && record.evidence.provenance) || [];
    const finding = findings.find((f) => f.signal === signal && f.strength === "decisive");
    return { signal, says: finding ? finding.says : signal };
  }

  function explanation(record) {
    const mark = decidingMark(record);
    if (mark) {
      const source = MARKS[mark.signal] || mark.signal;
      return el("p", { class: "explain", text: `Decided by ${source}: ${mark.says}. ` +
        "The detector's own score is shown above, for comparison." });
    }
    const margin = Math.abs(record.score - record.threshold);
    const close = margin < 0.1 ? " The score is close to the threshold: treat it as uncertain." : "";
    const text = record.label === "generated"
      ? "The detector scores this image at or above its threshold: it looks generated to it."
      : "The detector scores this image below its threshold: it looks like a real photo to it.";
    return el("p", { class: "explain", text: text + close });
  }

  function provenance(record) {
    const findings = record.evidence && record.evidence.provenance;
    if (!Array.isArray(findings)) return null;  // the server does not read provenance
    const list = el("ul", { class: "provenance", "data-testid": "provenance" });
    for (const finding of findings) {
      list.append(el("li", { "data-strength": finding.strength },
        el("strong", { text: `${STRENGTHS[finding.strength] || finding.strength}: ` }), finding.says));
    }
    if (!findings.length) {
      list.append(el("li", { text: "No provenance marks found (no C2PA manifest, generator metadata or watermark)." }));
    }
    const note = el("p", { class: "hint", text: "A missing mark proves nothing: most sites strip metadata, " +
      "and marks can be forged; a mark of generation is decisive, a camera's name is not." });
    return el("details", { open: "" }, el("summary", { text: "Provenance" }), list, note);
  }

  async function evidence(record) {
    const image = (record.evidence && record.evidence.image) || {};
    const file = (record.evidence && record.evidence.file) || {};
    const facts = el("dl", { class: "facts" });
    addFact(facts, "Format", image.format);
    if (image.width) addFact(facts, "Size", `${image.width} × ${image.height} pixels`);
    addFact(facts, "Colour mode", image.mode);
    if (image.jpeg_quality != null) addFact(facts, "JPEG quality", `${image.jpeg_quality} (estimated from its tables)`);
    addFact(facts, "Chroma subsampling", image.chroma_subsampling);
    if (file.bytes != null) addFact(facts, "File size", describeBytes(file.bytes));
    if (file.frames > 1) addFact(facts, "Frames", `${file.frames} (the first is checked)`);
    if (file.has_exif != null) addFact(facts, "EXIF metadata", file.has_exif ? "present" : "none");
    if (file.png_text_keys && file.png_text_keys.length) addFact(facts, "PNG text", file.png_text_keys.join(", "));
    const details = el("details", { open: "" }, el("summary", { text: "Evidence" }), facts);
    const spectrum = record.evidence && record.evidence.spectrum;
    if (spectrum) details.append(spectrumFigure(spectrum, await loadReference()));
    return details;
  }

  // ---- the spectral plot -------------------------------------------------------------------
  function spectrumFigure(values, ref) {
    const width = 320, height = 180, left = 34, right = 8, top = 8, bottom = 30;
    const all = ref ? values.concat(ref.p10, ref.p90, ref.mean) : values;
    let low = Math.min(...all), high = Math.max(...all);
    const pad = (high - low) * 0.05 || 0.05;
    low -= pad; high += pad;
    const x = (i) => left + (i / (values.length - 1)) * (width - left - right);
    const y = (v) => top + (1 - (v - low) / (high - low)) * (height - top - bottom);
    const line = (series) => series.map((v, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");

    const id = `spectrum-${++counter}`;
    const plot = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": `${id}-title ${id}-desc` });
    const title = svg("title", { id: `${id}-title` });
    title.textContent = "Spectrum of this image against typical real photos";
    const desc = svg("desc", { id: `${id}-desc` });
    desc.textContent = spectrumSummary(values, ref);
    plot.append(title, desc);
    plot.append(svg("line", { class: "axis", x1: left, y1: height - bottom, x2: width - right, y2: height - bottom }));
    plot.append(svg("line", { class: "axis", x1: left, y1: top, x2: left, y2: height - bottom }));
    for (const v of [low + pad, (low + high) / 2, high - pad]) {
      const tick = svg("text", { class: "tick", x: left - 4, y: y(v) + 3, "text-anchor": "end" });
      tick.textContent = v.toFixed(2);
      plot.append(tick);
    }
    const axis = svg("text", { class: "tick", x: (left + width - right) / 2, y: height - 8, "text-anchor": "middle" });
    axis.textContent = "spatial frequency: low → high";
    plot.append(axis);
    if (ref) {
      const band = ref.p90.map((v, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ") +
        ref.p10.slice().reverse().map((v, i) => `L${x(ref.p10.length - 1 - i).toFixed(1)},${y(v).toFixed(1)}`).join(" ") + "Z";
      plot.append(svg("path", { class: "band", d: band }), svg("path", { class: "ref", d: line(ref.mean) }));
    }
    plot.append(svg("path", { class: "img", d: line(values) }));

    const legend = el("div", { class: "legend", "aria-hidden": "true" },
      el("span", {}, el("span", { class: "swatch img" }), "this image"));
    if (ref) {
      legend.append(el("span", {}, el("span", { class: "swatch ref" }), "typical real photo"),
        el("span", {}, el("span", { class: "swatch band" }), "80% of real photos"));
    }
    const source = ref ? `The reference is ${ref.source}, each ${ref.crop}.` : "No reference spectrum is available.";
    const caption = el("figcaption", {
      text: `${desc.textContent} Log power of the image's Fourier spectrum averaged over rings ` +
        `(Durall et al. 2019), relative to its lowest frequency, on the central square of at most 512 px. ` +
        `${source} Generators' upsampling often raises or ripples the high-frequency end; JPEG ` +
        "compression, resizing and sharpening change it too, so read it as a hint, not a verdict.",
    });
    return el("figure", { class: "spectrum" }, plot, legend, caption);
  }

  function spectrumSummary(values, ref) {
    if (!ref) return "The spectrum of this image.";
    const tail = (series) => series.slice(-16).reduce((a, b) => a + b, 0) / 16;
    const mine = tail(values);
    if (mine > tail(ref.p90)) return "At high frequencies this image has more energy than most real photos.";
    if (mine < tail(ref.p10)) return "At high frequencies this image has less energy than most real photos.";
    return "At high frequencies this image is within the range of real photos.";
  }

  // ---- showing a failure -------------------------------------------------------------------
  function showFailure(card, code, detail) {
    const body = card.querySelector(".body");
    card.dataset.state = "failed";
    const words = PLAIN_WORDS[code] || "This file could not be checked.";
    body.querySelector(".verdict").replaceChildren(el("span", { class: "label", text: "Could not check" }));
    body.append(el("p", { class: "explain", text: words }));
    if (detail) body.append(el("p", { class: "error-detail", text: `Details: ${detail}` }));
    announce(`${body.querySelector(".name").textContent}: could not be checked. ${words}`);
  }

  // ---- picking and dropping ----------------------------------------------------------------
  input.addEventListener("change", () => {
    const files = Array.from(input.files || []);
    checkFiles(files).finally(() => { input.value = ""; });
  });

  let depth = 0;
  document.addEventListener("dragenter", (event) => {
    event.preventDefault();
    depth += 1;
    drop.classList.add("dragging");
  });
  document.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (!depth) drop.classList.remove("dragging");
  });
  document.addEventListener("dragover", (event) => event.preventDefault());
  document.addEventListener("drop", (event) => {
    event.preventDefault();
    depth = 0;
    drop.classList.remove("dragging");
    const files = Array.from((event.dataTransfer && event.dataTransfer.files) || []);
    checkFiles(files);
  });

  loadModel();
})();
