// report.html's interactivity: sortable, filterable tables that download as CSV; figures that
// download as SVG (or PNG); tooltips over heatmap cells, network edges and dose-response points
// from the numbers the report embeds (<script type="application/json" class="marks">); a click
// on a heatmap cell opens that line × drug's dose-response panel. No network, no libraries.
(function(){
  'use strict';
  function el(tag,cls,text){var e=document.createElement(tag);if(cls)e.className=cls;if(text!=null)e.textContent=text;return e;}
  function save(name,type,text){
    var url=URL.createObjectURL(new Blob([text],{type:type})),a=el('a');
    a.href=url;a.download=name;document.body.appendChild(a);a.click();a.remove();
    setTimeout(function(){URL.revokeObjectURL(url);},1000);
  }
  // Tables: click a header to sort (numbers by their exact CSV value), type to filter.
  function key(td){var v=td.getAttribute('data-value');if(v!==null&&v!==''&&!isNaN(+v))return +v;return td.textContent.trim().toLowerCase();}
  function sortBy(t,th,i){
    var asc=!th.classList.contains('asc');
    t.querySelectorAll('th').forEach(function(h){h.classList.remove('asc','desc');});
    th.classList.add(asc?'asc':'desc');
    var body=t.tBodies[0],rows=Array.prototype.slice.call(body.rows);
    rows.sort(function(a,b){var x=key(a.cells[i]),y=key(b.cells[i]);
      if(typeof x!==typeof y){x=String(x);y=String(y);}
      return (x<y?-1:x>y?1:0)*(asc?1:-1);});
    rows.forEach(function(r){body.appendChild(r);});
  }
  function csvField(s){return /[",\n\r]/.test(s)?'"'+s.replace(/"/g,'""')+'"':s;}
  // The rows shown (filtered, in the order shown), each cell's exact value: what the page holds.
  function tableCsv(t){
    var lines=[Array.prototype.map.call(t.tHead.rows[0].cells,function(c){return csvField(c.textContent);}).join(',')];
    Array.prototype.forEach.call(t.tBodies[0].rows,function(r){
      if(r.style.display==='none')return;
      lines.push(Array.prototype.map.call(r.cells,function(c){
        var v=c.getAttribute('data-value');return csvField(v!==null?v:c.textContent);}).join(','));
    });
    return lines.join('\n')+'\n';
  }
  document.querySelectorAll('table.sortable').forEach(function(t){
    t.querySelectorAll('th').forEach(function(th,i){th.addEventListener('click',function(){sortBy(t,th,i);});});
  });
  document.querySelectorAll('input.filter').forEach(function(box){
    var t=document.getElementById(box.getAttribute('data-table'));
    box.addEventListener('input',function(){
      var q=box.value.toLowerCase();
      Array.prototype.forEach.call(t.tBodies[0].rows,function(r){
        r.style.display=r.textContent.toLowerCase().indexOf(q)>=0?'':'none';});
    });
    var b=el('button','csv','download CSV');b.type='button';
    b.title='the rows shown, in the order shown, as CSV';
    b.addEventListener('click',function(){save(t.id+'.csv','text/csv',tableCsv(t));});
    box.insertAdjacentElement('afterend',b);
  });
  // Figures: a download button each; tooltips and panels from their marks.
  var tip=el('div','tip');tip.id='tip';tip.setAttribute('role','tooltip');tip.hidden=true;
  document.body.appendChild(tip);
  var figures=[];
  function size(img){
    if(img.tagName.toLowerCase()==='svg'){var v=img.viewBox&&img.viewBox.baseVal;
      return v&&v.width?[v.width,v.height]:[img.width.baseVal.value,img.height.baseVal.value];}
    return [img.naturalWidth,img.naturalHeight];
  }
  // Pointer position in the figure's own pixels (its viewBox), whatever size it is shown at.
  function at(img,ev){
    var r=img.getBoundingClientRect(),s=size(img);
    return [(ev.clientX-r.left)*s[0]/r.width,(ev.clientY-r.top)*s[1]/r.height,s[0]/r.width];
  }
  function hit(m,x,y,px){
    var c=m.r||m.d||m.s,pad=3*px;
    if(m.r)return x>=c[0]&&x<c[0]+c[2]&&y>=c[1]&&y<c[1]+c[3]?0:-1;
    if(m.d){var d=Math.hypot(x-c[0],y-c[1]);return d<=c[2]+3+pad?d:-1;}
    var dx=c[2]-c[0],dy=c[3]-c[1],l=dx*dx+dy*dy,u=l?((x-c[0])*dx+(y-c[1])*dy)/l:0;
    u=Math.max(0,Math.min(1,u));var e=Math.hypot(x-c[0]-u*dx,y-c[1]-u*dy);
    return e<=c[4]/2+2+pad?e:-1;
  }
  // The mark under the pointer: the nearest, the last drawn (on top) among equals.
  function find(f,x,y,px){
    var best=null,bd=Infinity;
    for(var i=f.marks.m.length-1;i>=0;i--){var d=hit(f.marks.m[i],x,y,px);if(d>=0&&d<bd){best=f.marks.m[i];bd=d;}}
    return best;
  }
  function showTip(lines,ev){
    tip.replaceChildren();
    lines.forEach(function(l,k){tip.appendChild(el(k?'div':'b',null,l));});
    tip.hidden=false;
    var w=tip.offsetWidth,h=tip.offsetHeight,x=ev.clientX+14,y=ev.clientY+14;
    if(x+w>window.innerWidth-4)x=Math.max(4,ev.clientX-w-14);
    if(y+h>window.innerHeight-4)y=Math.max(4,ev.clientY-h-14);
    tip.style.left=x+'px';tip.style.top=y+'px';
  }
  // The dose-response panel of a line × drug, cut out of the grid that holds it.
  var view=el('div','panel-view');view.id='panel-view';view.hidden=true;view.setAttribute('role','dialog');
  var viewHead=el('div','panel-head'),viewBody=el('div','panel-body'),close=el('button','close','close ✕');
  close.type='button';close.addEventListener('click',function(){view.hidden=true;});
  viewHead.appendChild(close);view.appendChild(viewHead);view.appendChild(viewBody);document.body.appendChild(view);
  document.addEventListener('keydown',function(e){if(e.key==='Escape')view.hidden=true;});
  function openPanel(k,lines){
    viewBody.replaceChildren();
    Array.prototype.slice.call(viewHead.childNodes).forEach(function(n){if(n!==close)n.remove();});
    var parts=k.split('\t');
    viewHead.insertBefore(el('b',null,parts[0]+' × '+parts[1]),close);
    viewBody.appendChild(el('p','panel-numbers',lines.slice(1).join(' · ')));
    var found=null;
    figures.forEach(function(f){(f.marks.p||[]).forEach(function(p){if(!found&&p.k===k)found={f:f,p:p};});});
    if(found&&found.f.img.tagName.toLowerCase()==='svg'){
      var svg=found.f.img.cloneNode(true),r=found.p.r;
      svg.setAttribute('viewBox',r.join(' '));svg.setAttribute('width',Math.round(r[2]*1.5));svg.setAttribute('height',Math.round(r[3]*1.5));
      svg.removeAttribute('id');svg.classList.add('panel');
      svg.setAttribute('data-key',k);
      viewBody.appendChild(svg);
      var link=el('a',null,'in '+found.f.file);link.href='#'+found.f.fig.id;
      link.addEventListener('click',function(){view.hidden=true;});
      viewBody.appendChild(el('p','file')).appendChild(link);
    }else if(found){
      var a=el('a',null,'open '+found.f.file);a.href=found.f.file;viewBody.appendChild(a);
    }else{
      viewBody.appendChild(el('p',null,'This panel is not drawn inline in this report; it is in the line\u2019s grid under plots/dose_response/ beside this page.'));
    }
    view.hidden=false;
  }
  document.querySelectorAll('figure').forEach(function(fig,n){
    var img=fig.querySelector(':scope > svg, :scope > img');if(!img)return;
    var file=fig.getAttribute('data-file')||'figure',svgFig=img.tagName.toLowerCase()==='svg';
    if(!fig.id)fig.id='figure-'+n;
    var b=el('button','download',svgFig?'download SVG':'download PNG');b.type='button';
    b.addEventListener('click',function(){
      var name=file.split('/').pop();
      if(svgFig)save(name,'image/svg+xml','<?xml version="1.0" encoding="UTF-8"?>\n'+img.outerHTML+'\n');
      else{var a=el('a');a.href=img.src;a.download=name;document.body.appendChild(a);a.click();a.remove();}
    });
    var cap=fig.querySelector('figcaption');if(cap)cap.appendChild(b);else fig.appendChild(b);
    var data=fig.querySelector('script.marks');if(!data)return;
    var f={fig:fig,img:img,file:file,marks:JSON.parse(data.textContent)};
    figures.push(f);
    if(!f.marks.m.length)return;
    fig.classList.add('marked');
    var current=null;
    img.addEventListener('mousemove',function(ev){
      var p=at(img,ev),m=find(f,p[0],p[1],p[2]);current=m;
      if(m){showTip(m.t,ev);img.classList.toggle('opens',!!m.k);}else{tip.hidden=true;img.classList.remove('opens');}
    });
    img.addEventListener('mouseleave',function(){tip.hidden=true;current=null;});
    img.addEventListener('click',function(ev){
      var p=at(img,ev),m=find(f,p[0],p[1],p[2])||current;
      if(m&&m.k){tip.hidden=true;openPanel(m.k,m.t);}
    });
  });
})();
