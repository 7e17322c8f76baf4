/// The page at `/`, to try the served models in a browser.
///
/// Choose a model, draw on a canvas or drop a photo, and see the top classes, updated as you
/// draw. Self-contained (no external script, style or font), and it uses only the
/// server's public endpoints: `GET /v2/models` and `POST /v2/models/{name}/classify`.
enum Page {
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Nabla — try a model</title>
        <style>
          body { font: 15px/1.4 system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1d2330; }
          header { background: #1d2330; color: #fff; padding: 12px 20px; font-size: 18px; }
          main { display: flex; flex-wrap: wrap; gap: 24px; padding: 20px; }
          section { background: #fff; border-radius: 8px; padding: 16px; box-shadow: 0 1px 3px #0002; }
          canvas { background: #000; border-radius: 4px; touch-action: none; cursor: crosshair; display: block; }
          #left { width: 280px; }
          #drop { margin-top: 10px; border: 2px dashed #99a; border-radius: 6px; padding: 10px; text-align: center; color: #556; }
          #drop.over { background: #eef; }
          #photo { max-width: 280px; max-height: 200px; display: none; margin-top: 8px; }
          button, select { font: inherit; padding: 4px 10px; }
          select { max-width: 150px; }
          .row { display: flex; align-items: center; gap: 8px; margin: 6px 0; }
          .label { width: 130px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
          .track { width: 160px; }
          .bar { height: 18px; background: #3b6fd8; border-radius: 3px; }
          .value { width: 60px; text-align: right; font-variant-numeric: tabular-nums; }
          #status { color: #667; margin-top: 8px; min-height: 1.4em; }
        </style>
        </head>
        <body>
        <header>Nabla — draw a digit or drop a photo</header>
        <main>
          <section id="left">
            <div class="row"><label for="model">Model</label><select id="model"></select>
              <button id="clear" type="button">Clear</button></div>
            <canvas id="canvas" width="280" height="280"></canvas>
            <div id="drop">Drop a photo here, or choose one:<br>
              <input id="file" type="file" accept="image/png,image/jpeg"></div>
            <img id="photo" alt="the photo being classified">
          </section>
          <section style="min-width: 320px">
            <div><strong>Top classes</strong></div>
            <div id="predictions" data-top=""></div>
            <div id="status">Loading models…</div>
          </section>
        </main>
        <script>
        "use strict";
        const canvas = document.getElementById("canvas"), ctx = canvas.getContext("2d");
        const select = document.getElementById("model"), predictions = document.getElementById("predictions");
        const status = document.getElementById("status"), photo = document.getElementById("photo");
        let models = [], drawing = false, last = null, busy = false, again = false;

        function clearCanvas() {
          ctx.fillStyle = "#000"; ctx.fillRect(0, 0, canvas.width, canvas.height);
          predictions.innerHTML = ""; predictions.dataset.top = "";
        }
        function point(e) {
          const r = canvas.getBoundingClientRect();
          return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height];
        }
        function stroke(from, to) {
          ctx.strokeStyle = "#fff"; ctx.lineWidth = 20; ctx.lineCap = "round"; ctx.lineJoin = "round";
          ctx.beginPath(); ctx.moveTo(from[0], from[1]); ctx.lineTo(to[0], to[1]); ctx.stroke();
        }
        canvas.addEventListener("pointerdown", e => {
          drawing = true; last = point(e); stroke(last, last); photo.style.display = "none"; send();
        });
        canvas.addEventListener("pointermove", e => {
          if (!drawing) return;
          const p = point(e); stroke(last, p); last = p; send();
        });
        for (const name of ["pointerup", "pointerleave", "pointercancel"]) {
          canvas.addEventListener(name, () => { if (drawing) { drawing = false; send(); } });
        }
        document.getElementById("clear").addEventListener("click", clearCanvas);

        function current() { return models.find(m => m.name === select.value); }

        // The drawing, scaled down to the model's input size in the browser (smoothly), as a PNG.
        function drawingBlob() {
          const m = current(), h = m.input_shape[0], w = m.input_shape[1];
          const small = document.createElement("canvas"); small.width = w; small.height = h;
          const c = small.getContext("2d"); c.imageSmoothingEnabled = true; c.imageSmoothingQuality = "high";
          c.drawImage(canvas, 0, 0, w, h);
          return new Promise(resolve => small.toBlob(resolve, "image/png"));
        }

        // One request in flight at a time; strokes made meanwhile are sent when it returns.
        async function send(blob) {
          if (!current()) return;
          if (busy && !blob) { again = true; return; }
          busy = true;
          try {
            const body = blob || await drawingBlob();
            const t0 = performance.now();
            const r = await fetch("/v2/models/" + encodeURIComponent(select.value) + "/classify?top_k=5",
                                  { method: "POST", headers: { "Content-Type": "application/octet-stream" }, body });
            const answer = await r.json();
            if (!r.ok) { status.textContent = answer.error || ("error " + r.status); return; }
            show(answer.predictions);
            status.textContent = "answered in " + (performance.now() - t0).toFixed(1) + " ms (model: " +
              (answer.compute_us / 1000).toFixed(2) + " ms)";
          } catch (err) {
            status.textContent = "request failed: " + err;
          } finally {
            busy = false;
            if (again) { again = false; send(); }
          }
        }

        function show(list) {
          predictions.innerHTML = "";
          for (const p of list) {
            const row = document.createElement("div"); row.className = "row";
            const label = document.createElement("span"); label.className = "label"; label.textContent = p.label;
            const bar = document.createElement("div"); bar.className = "bar";
            bar.style.width = Math.max(2, Math.round(p.probability * 160)) + "px";
            const value = document.createElement("span"); value.className = "value";
            value.textContent = (100 * p.probability).toFixed(1) + "%";
            const track = document.createElement("div"); track.className = "track"; track.append(bar);
            row.append(label, track, value); predictions.append(row);
          }
          predictions.dataset.top = list.length ? list[0].label : "";
        }

        function usePhoto(file) {
          if (!file) return;
          photo.src = URL.createObjectURL(file); photo.style.display = "block";
          send(file);
        }
        const drop = document.getElementById("drop");
        drop.addEventListener("dragover", e => { e.preventDefault(); drop.classList.add("over"); });
        drop.addEventListener("dragleave", () => drop.classList.remove("over"));
        drop.addEventListener("drop", e => {
          e.preventDefault(); drop.classList.remove("over"); usePhoto(e.dataTransfer.files[0]);
        });
        document.getElementById("file").addEventListener("change", e => usePhoto(e.target.files[0]));
        select.addEventListener("change", () => send());

        fetch("/v2/models").then(r => r.json()).then(list => {
          models = list.filter(m => m.images);
          for (const m of models) {
            const o = document.createElement("option"); o.value = m.name; o.textContent = m.name; select.append(o);
          }
          status.textContent = models.length ? "Draw with the mouse (or a finger)." : "No served model takes images.";
          document.body.dataset.ready = "true";
        }).catch(err => { status.textContent = "cannot list the models: " + err; });
        clearCanvas();
        </script>
        </body>
        </html>
        """#
}
